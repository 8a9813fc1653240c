import { ErrorCodes, TributaryError } from './errors.js';

const END: unique symbol = Symbol('tributary.queue.end');
export type QueueEnd = typeof END;
export const QUEUE_END: QueueEnd = END;

/**
 * What `ContentQueue.put` (and so `Stage.put`) returns when the item went in without waiting: a
 * promise already settled, so a caller passing many items on may skip awaiting it.
 */
export const PUT_DONE: Promise<void> = Promise.resolve();

/** One turn of the event loop, in which producers run until they block or wait on I/O. */
function letProducersRun(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface ContentQueueOptions {
  /**
   * A producer waiting for room is woken once the queue holds at most this many items (an integer
   * from 0 to `capacity - 1`; default `capacity - 1`, as soon as there is room). Lower, a producer
   * feeding a consumer that takes one item at a time refills many items per wake-up instead of
   * waiting again for every one; the capacity bound is the same.
   */
  readonly resumeProducersAt?: number;
}

/**
 * A bounded async FIFO between two pipeline stages. `put` waits while the queue is full, which is
 * what keeps a pipeline's memory flat: a fast first stage cannot run ahead of a slow saver.
 *
 * Once the signal aborts, every waiting `put`, `get` and `waitReady` wakes and throws
 * `TRIBUTARY_ERR_SYNC_CANCELLED`, and so does every later call.
 *
 * `put` and `get` settle without allocating when they need not wait: every item of a sync crosses
 * every queue, so this is the pipeline's hottest path.
 */
export class ContentQueue<T> {
  private readonly items: T[] = [];
  private head = 0;
  private closed = false;
  private readonly getters: Array<(value: T | QueueEnd) => void> = [];
  private readonly putters: Array<() => void> = [];
  private readonly resumeAt: number;

  constructor(
    readonly capacity: number,
    private readonly signal?: AbortSignal,
    options: ContentQueueOptions = {},
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `queue capacity must be a positive integer, got ${capacity}`);
    }
    const resumeAt = options.resumeProducersAt ?? capacity - 1;
    if (!Number.isInteger(resumeAt) || resumeAt < 0 || resumeAt >= capacity) {
      throw new TributaryError(
        ErrorCodes.INVALID_ARGUMENT,
        `queue resumeProducersAt must be an integer from 0 to capacity - 1 (${capacity - 1}), got ${resumeAt}`,
      );
    }
    this.resumeAt = resumeAt;
    signal?.addEventListener('abort', () => this.wakeAll(), { once: true });
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** True when an item can be taken without waiting. */
  get ready(): boolean {
    return this.size > 0 || this.closed;
  }

  put(item: T): Promise<void> {
    if (this.size < this.capacity && !this.closed && !this.signal?.aborted) {
      this.deliver(item);
      return PUT_DONE;
    }
    return this.putWhenRoom(item);
  }

  /** Marks the end of input: readers drain what is left, then see QUEUE_END. */
  close(): void {
    this.closed = true;
    this.wakeAll();
  }

  /** Next item, or QUEUE_END once closed and drained. */
  get(): Promise<T | QueueEnd> {
    if (this.size > 0 && !this.signal?.aborted) return Promise.resolve(this.take());
    return this.getWhenReady();
  }

  /**
   * Waits until an item is ready (or the queue closes), or until `wake` settles; takes nothing.
   * Without `wake`, waits for the queue alone.
   *
   * Woken by the first new item, it lets the producer run on until it blocks before returning, so
   * the reader then finds many items at once instead of waking once per item: that hand-off is
   * most of the cost of moving content between stages. `options.letProducersRun: false` returns
   * at once instead: for a reader whose first content starts slow work (downloads), which would
   * otherwise wait for a turn of every stage before it, each parsing on (see Stage.batches).
   */
  async waitReady(wake?: Promise<unknown>, options: { readonly letProducersRun?: boolean } = {}): Promise<void> {
    // checked first: after the abort the queue no longer wakes anyone, so a new waiter would hang
    this.throwIfAborted();
    if (this.ready) return;
    let onItem!: () => void;
    let itemArrived = false;
    const itemReady = new Promise<void>((resolve) => (onItem = resolve));
    const getter = (value: T | QueueEnd): void => {
      // put back what arrived; the caller will poll() it
      if (value !== END) {
        this.items.splice(this.head, 0, value);
        itemArrived = true;
      }
      onItem();
    };
    this.getters.push(getter);
    try {
      await (wake ? Promise.race([itemReady, wake]) : itemReady);
    } finally {
      const index = this.getters.indexOf(getter);
      if (index >= 0) this.getters.splice(index, 1);
    }
    this.throwIfAborted();
    if (itemArrived && options.letProducersRun !== false && !this.closed && this.size < this.capacity) {
      await letProducersRun();
      this.throwIfAborted();
    }
  }

  /** Takes an item only if one is ready; never waits. Throws once the sync is cancelled. */
  poll(): T | QueueEnd | undefined {
    this.throwIfAborted();
    if (this.size > 0) return this.take();
    return this.closed ? END : undefined;
  }

  private async putWhenRoom(item: T): Promise<void> {
    while (this.size >= this.capacity && !this.closed) {
      this.throwIfAborted();
      await new Promise<void>((resolve) => this.putters.push(resolve));
    }
    this.throwIfAborted();
    if (this.closed) throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, 'put() on a closed pipeline queue');
    this.deliver(item);
  }

  private async getWhenReady(): Promise<T | QueueEnd> {
    this.throwIfAborted();
    if (this.size > 0) return this.take();
    if (this.closed) return END;
    const value = await new Promise<T | QueueEnd>((resolve) => this.getters.push(resolve));
    if (value === END) this.throwIfAborted();
    return value;
  }

  private deliver(item: T): void {
    const getter = this.getters.shift();
    if (getter) getter(item);
    else this.items.push(item);
  }

  private take(): T {
    const item = this.items[this.head] as T;
    this.items[this.head] = undefined as T;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    if (this.putters.length > 0 && this.size <= this.resumeAt) this.putters.shift()!();
    return item;
  }

  private wakeAll(): void {
    for (const getter of this.getters.splice(0)) getter(END);
    for (const putter of this.putters.splice(0)) putter();
  }

  private throwIfAborted(): void {
    if (this.signal?.aborted) {
      throw new TributaryError(ErrorCodes.SYNC_CANCELLED, 'the sync was cancelled', { cause: this.signal.reason });
    }
  }
}
