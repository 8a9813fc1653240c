import { Stage, type DeclarativeArtifact, type DeclarativeContent, type DownloadExpectation } from '@tributary/plugin-api';
import { downloadConcurrencyOf, type PipelineContext } from './pipeline-context.js';

/**
 * Downloads the artifacts that are not stored and are due now: those declared with
 * `deferredDownload: false`, and, in an `immediate` sync, those that leave it undefined. Each file
 * goes through the fetcher (which verifies size and digests while streaming) and is left in
 * `artifact.downloaded` for ArtifactSaver.
 *
 * At most `downloadConcurrency` downloads run at once across the stage, and the stage takes new
 * content only while a download slot is free, so it never holds more than a window of content.
 * Content is passed on as soon as all of its files are in, not in arrival order, and while
 * downloads are running the stage keeps passing on finished content: someone may be awaiting its
 * future. The first failed download stops the others and fails the stage once they have settled.
 */
export class ArtifactDownloader extends Stage {
  constructor(private readonly ctx: PipelineContext) {
    super('ArtifactDownloader');
  }

  override async run(): Promise<void> {
    const window = new DownloadWindow(this.ctx, this.signal);
    const input = this.items();
    let nextInput: Promise<IteratorResult<DeclarativeContent>> | undefined;
    let inputDone = false;
    try {
      for (;;) {
        for (let dc = window.takeFinished(); dc; dc = window.takeFinished()) {
          if (!dc.resolved) await this.put(dc);
        }
        window.throwIfFailed();
        if (inputDone && window.idle) break;
        if (inputDone || !window.hasRoom) {
          await window.nextChange();
          continue;
        }
        const changed = window.idle ? undefined : window.nextChange();
        nextInput ??= input.next();
        // with nothing downloading there is nothing to race: the common case of an on_demand sync
        const arrived = changed ? await Promise.race([nextInput, changed.then(() => undefined)]) : await nextInput;
        if (!arrived) continue;
        nextInput = undefined;
        if (arrived.done) inputDone = true;
        else if (!arrived.value.resolved) window.admit(arrived.value, this.dueArtifacts(arrived.value));
      }
    } catch (error) {
      // an input read still pending rejects once the pipeline aborts; nobody waits for it any more
      nextInput?.catch(() => undefined);
      await window.stop(error);
      throw error;
    }
    window.close();
  }

  private dueArtifacts(dc: DeclarativeContent): DeclarativeArtifact[] {
    const immediate = this.ctx.settings.policy === 'immediate';
    return dc.artifacts.filter(
      (a) => !a.stored && !a.downloaded && (a.deferredDownload === false || (a.deferredDownload === undefined && immediate)),
    );
  }
}

/** The downloads of one ArtifactDownloader run: a bounded set in flight and the content they finish. */
class DownloadWindow {
  private readonly limit: number;
  private readonly controller = new AbortController();
  private readonly finished: DeclarativeContent[] = [];
  private readonly slotWaiters: Array<() => void> = [];
  private running = 0;
  private contentInFlight = 0;
  private failure: { error: unknown } | undefined;
  private notify: (() => void) | undefined;
  private readonly unlink: () => void;

  constructor(
    private readonly ctx: PipelineContext,
    stageSignal: AbortSignal,
  ) {
    this.limit = downloadConcurrencyOf(ctx);
    const abort = (): void => this.controller.abort(stageSignal.reason);
    if (stageSignal.aborted) abort();
    stageSignal.addEventListener('abort', abort, { once: true });
    this.unlink = () => stageSignal.removeEventListener('abort', abort);
  }

  /** True when a download slot is free, so more content may be taken. */
  get hasRoom(): boolean {
    return this.running + this.slotWaiters.length < this.limit;
  }

  /** True when no content is downloading. */
  get idle(): boolean {
    return this.contentInFlight === 0;
  }

  /** Settles at the next finished download (or at once if one finished since the last call). */
  nextChange(): Promise<void> {
    if (this.finished.length > 0 || this.failure) return Promise.resolve();
    return new Promise<void>((resolve) => (this.notify = resolve));
  }

  takeFinished(): DeclarativeContent | undefined {
    return this.finished.shift();
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Starts the downloads of `dc` (content with none due is finished at once). */
  admit(dc: DeclarativeContent, due: readonly DeclarativeArtifact[]): void {
    if (due.length === 0) {
      this.finished.push(dc);
      return;
    }
    this.contentInFlight++;
    void Promise.allSettled(due.map((artifact) => this.download(artifact))).then((results) => {
      this.contentInFlight--;
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected) this.recordFailure(rejected.reason);
      else this.finished.push(dc);
      this.wake();
    });
  }

  /** Stops every download, waits until all have settled, and releases the stage's signal. */
  async stop(error: unknown): Promise<void> {
    this.recordFailure(error);
    while (!this.idle) await this.nextSettled();
    this.close();
  }

  /** Releases the stage's signal; call once nothing is in flight. */
  close(): void {
    this.unlink();
  }

  private async download(artifact: DeclarativeArtifact): Promise<void> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    this.running++;
    try {
      this.controller.signal.throwIfAborted();
      const expected: DownloadExpectation = {
        ...(artifact.size !== undefined ? { size: artifact.size } : {}),
        digests: artifact.digests,
      };
      artifact.downloaded = await this.ctx.fetcher.download(artifact.urls, expected, this.controller.signal);
    } finally {
      this.running--;
      this.slotWaiters.shift()?.();
    }
  }

  private recordFailure(error: unknown): void {
    if (this.failure) return;
    this.failure = { error };
    this.controller.abort(error);
  }

  private nextSettled(): Promise<void> {
    return new Promise<void>((resolve) => (this.notify = resolve));
  }

  private wake(): void {
    const notify = this.notify;
    this.notify = undefined;
    notify?.();
  }
}
