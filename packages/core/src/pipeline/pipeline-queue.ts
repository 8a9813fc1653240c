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

  override get(): Promise<DeclarativeContent | QueueEnd> {
    return this.ready ? super.get() : this.counting('consumer', () => super.get());
  }

  override waitReady(wake?: Promise<unknown>): Promise<void> {
    return this.ready ? super.waitReady(wake) : this.counting('consumer', () => super.waitReady(wake));
  }

  override put(item: DeclarativeContent): Promise<void> {
    return this.size < this.capacity ? super.put(item) : this.counting('producer', () => super.put(item));
  }

  private async counting<T>(side: 'consumer' | 'producer', wait: () => Promise<T>): Promise<T> {
    if (side === 'consumer') this.consumersWaiting++;
    else this.producersWaiting++;
    try {
      return await wait();
    } finally {
      if (side === 'consumer') this.consumersWaiting--;
      else this.producersWaiting--;
    }
  }
}
