import { ContentQueue, type DeclarativeContent, type QueueEnd } from '@tributary/plugin-api';

/**
 * The queue the runner puts between two stages: a ContentQueue that also knows whether its
 * consumer is waiting for content and whether its producer is waiting for room. The runner reads
 * these to tell, when a sync is cancelled, which stage was actually at work.
 */
export class PipelineQueue extends ContentQueue<DeclarativeContent> {
  private consumersWaiting = 0;
  private producersWaiting = 0;

  /** True while the next stage waits for content to arrive. */
  get consumerWaiting(): boolean {
    return this.consumersWaiting > 0;
  }

  /** True while the previous stage waits for room to put content. */
  get producerWaiting(): boolean {
    return this.producersWaiting > 0;
  }

  override async get(): Promise<DeclarativeContent | QueueEnd> {
    if (this.ready) return super.get();
    this.consumersWaiting++;
    try {
      return await super.get();
    } finally {
      this.consumersWaiting--;
    }
  }

  override async waitReady(wake: Promise<unknown>): Promise<void> {
    if (this.ready) return super.waitReady(wake);
    this.consumersWaiting++;
    try {
      await super.waitReady(wake);
    } finally {
      this.consumersWaiting--;
    }
  }

  override async put(item: DeclarativeContent): Promise<void> {
    if (this.size < this.capacity) return super.put(item);
    this.producersWaiting++;
    try {
      await super.put(item);
    } finally {
      this.producersWaiting--;
    }
  }
}
