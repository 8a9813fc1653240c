import { performance } from 'node:perf_hooks';
import { ContentQueue, type DeclarativeContent, type QueueEnd } from '@tributary/plugin-api';

/**
 * The queue the runner puts between two stages: a ContentQueue that also knows whether its
 * consumer is waiting for content and whether its producer is waiting for room. The runner reads
 * these to tell, when a sync is cancelled, which stage was actually at work, and to tell how long
 * each stage was busy rather than waiting on its neighbours.
 *
 * A producer that found it full waits until it is half empty: a batching stage passing a batch on
 * to a stage that reads one item at a time would otherwise wait (a promise and a wake-up) for
 * nearly every item.
 */
export class PipelineQueue extends ContentQueue<DeclarativeContent> {
  private consumersWaiting = 0;
  private producersWaiting = 0;
  /** Milliseconds the consumer spent waiting for content. */
  consumerWaitMs = 0;
  /** Milliseconds the producer spent waiting for room. */
  producerWaitMs = 0;
  /** Items put so far: the runner's progress watchdog watches it move. */
  moved = 0;

  constructor(capacity: number, signal?: AbortSignal) {
    super(capacity, signal, { resumeProducersAt: Math.min(capacity - 1, Math.floor(capacity / 2)) });
  }

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

  override waitReady(wake?: Promise<unknown>, options?: { readonly letProducersRun?: boolean }): Promise<void> {
    return this.ready ? super.waitReady(wake, options) : this.counting('consumer', () => super.waitReady(wake, options));
  }

  override put(item: DeclarativeContent): Promise<void> {
    this.moved++;
    return this.size < this.capacity ? super.put(item) : this.counting('producer', () => super.put(item));
  }

  private async counting<T>(side: 'consumer' | 'producer', wait: () => Promise<T>): Promise<T> {
    const started = performance.now();
    if (side === 'consumer') this.consumersWaiting++;
    else this.producersWaiting++;
    try {
      return await wait();
    } finally {
      const waited = performance.now() - started;
      if (side === 'consumer') {
        this.consumersWaiting--;
        this.consumerWaitMs += waited;
      } else {
        this.producersWaiting--;
        this.producerWaitMs += waited;
      }
    }
  }
}
