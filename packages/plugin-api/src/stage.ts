import { ContentQueue, PUT_DONE, QUEUE_END } from './content-queue.js';
import type { DeclarativeContent } from './declarative.js';
import { futureAwaitedSignal } from './declarative.js';

/** Default minimum batch size of `batches()`. */
export const DEFAULT_BATCH_SIZE = 500;
/** How a stage waits for its first content: handed over at once (see ContentQueue.waitReady). */
const EAGER = { letProducersRun: false } as const;

/**
 * One station of the sync pipeline. Subclass it and implement `run()`: read with `items()` or
 * `batches()`, pass content on with `put()`. The host connects the queues before `run()`.
 *
 * @example
 * ```ts
 * class DropDebugInfo extends Stage {
 *   async run() {
 *     for await (const dc of this.items()) {
 *       if (String(dc.key.name).endsWith('-debuginfo')) dc.resolve();
 *       else await this.put(dc);
 *     }
 *   }
 * }
 * ```
 */
export abstract class Stage {
  /** Name used in errors and timings; defaults to the class name. */
  readonly name: string;
  private input: ContentQueue<DeclarativeContent> | undefined;
  private output: ContentQueue<DeclarativeContent> | undefined;
  private abortSignal: AbortSignal | undefined;

  constructor(name?: string) {
    this.name = name ?? this.constructor.name;
  }

  abstract run(): Promise<void>;

  /** Aborted when the sync is cancelled or another stage failed; pass it to long operations. */
  get signal(): AbortSignal {
    return (this.abortSignal ??= new AbortController().signal);
  }

  /** @internal Called by the host's pipeline runner. */
  connect(input: ContentQueue<DeclarativeContent> | undefined, output: ContentQueue<DeclarativeContent> | undefined, signal: AbortSignal): void {
    this.input = input;
    this.output = output;
    this.abortSignal = signal;
  }

  /**
   * Content from the previous stage, one at a time. The first comes as soon as it is there; later,
   * a reader that waited lets the previous stage run on first, so that it finds many at once.
   */
  async *items(): AsyncGenerator<DeclarativeContent> {
    const input = this.input;
    if (!input) return;
    let first = true;
    for (;;) {
      const next = input.poll();
      if (next === QUEUE_END) return;
      if (next !== undefined) {
        first = false;
        yield next;
        continue;
      }
      await input.waitReady(undefined, first ? EAGER : undefined);
    }
  }

  /**
   * Content from the previous stage in batches of at least `minSize`, except that a partial batch
   * is yielded when the input ends, or when nothing more is ready and someone awaits the future
   * of content inside the batch.
   *
   * `options.firstBatch`: the first batch is yielded at that many instead, or with what is there
   * once the stage before pauses, and as soon as it is there (without the turn a waiting reader
   * otherwise gives the stage before it); each later batch at twice `firstBatch`, and so on up to
   * `minSize`. A stage whose work starts the slow part of a sync (downloads) lets the first content
   * through while the rest is still being read: a repository smaller than a batch would otherwise
   * download nothing until its whole metadata is parsed.
   */
  async *batches(minSize: number = DEFAULT_BATCH_SIZE, options: { readonly firstBatch?: number } = {}): AsyncGenerator<DeclarativeContent[]> {
    const input = this.input;
    if (!input) return;
    const awaited = futureAwaitedSignal();
    let batch: DeclarativeContent[] = [];
    let size = Math.min(minSize, options.firstBatch ?? minSize);
    let eager: typeof EAGER | undefined = options.firstBatch !== undefined ? EAGER : undefined;
    // Whether content in `batch` has an awaited future. Checked as content arrives and rescanned only
    // when somebody starts awaiting a future, so a slow input does not cost a batch scan per item.
    let holdsAwaited = false;
    for (;;) {
      const next = input.poll();
      if (next === QUEUE_END) {
        if (batch.length > 0) yield batch;
        return;
      }
      let nextSize: number;
      if (next !== undefined) {
        batch.push(next);
        if (next.awaited) holdsAwaited = true;
        if (batch.length < size) continue;
        // after a first batch, twice as many each time up to minSize: the downloads the first
        // started are fed while the rest is read, not left to wait for a whole batch
        nextSize = Math.min(minSize, size * 2);
      } else if (eager !== undefined && batch.length > 0) {
        // nothing more ready: a first batch is not held while the stage before is busy (parsing its next chunk)
        nextSize = Math.min(minSize, size * 2);
      } else if (holdsAwaited) {
        nextSize = minSize;
      } else {
        const generation = awaited.generation;
        if (batch.length > 0) {
          const wake = awaited.next();
          try {
            await input.waitReady(wake.promise);
          } finally {
            wake.cancel();
          }
        } else {
          await input.waitReady(undefined, eager);
        }
        // rescan when a future was awaited meanwhile (generation is undefined in an older shared copy)
        const futureAwaited = generation === undefined || awaited.generation !== generation;
        if (batch.length > 0 && futureAwaited) holdsAwaited = batch.some((dc) => dc.awaited);
        continue;
      }
      yield batch;
      batch = [];
      holdsAwaited = false;
      size = nextSize;
      eager = undefined;
    }
  }

  /**
   * Passes content to the next stage; waits while the next queue is full. Also ties the content's
   * `resolution()` future to this sync, so it rejects rather than hangs if the sync stops.
   */
  put(content: DeclarativeContent): Promise<void> {
    content.bindToSync(this.signal);
    return this.output ? this.output.put(content) : Promise.resolve();
  }

  /**
   * Passes each of `contents` on in order through `put()`, awaiting only the puts that had to wait
   * for room: a stage passing a batch on pays for an await while the next queue is full, not once
   * per item.
   */
  async putAll(contents: Iterable<DeclarativeContent>): Promise<void> {
    for (const content of contents) {
      const pending = this.put(content);
      if (pending !== PUT_DONE) await pending;
    }
  }
}
