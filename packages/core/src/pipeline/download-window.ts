import { setMaxListeners } from 'node:events';
import type { DeclarativeArtifact, DeclarativeContent, DownloadExpectation, RemoteFetcher } from '@tributary/plugin-api';

/**
 * The working set of one ArtifactDownloader run: downloads in flight (at most `concurrency` at once)
 * and finished content being passed on, at most `maxHeld` content in all.
 *
 * Passing content on runs apart from taking new content, so downloads keep going while the next
 * stage is busy (an ArtifactSaver writing a batch) until `maxHeld` is reached: the network does not
 * idle every time the stage after it does.
 */
export class DownloadWindow {
  private readonly controller = new AbortController();
  private readonly finished: DeclarativeContent[] = [];
  private readonly slotWaiters: Array<() => void> = [];
  private running = 0;
  private contentInFlight = 0;
  private passing = false;
  private failure: { error: unknown } | undefined;
  private notify: (() => void) | undefined;
  private readonly unlink: () => void;

  constructor(
    private readonly fetcher: RemoteFetcher,
    private readonly concurrency: number,
    private readonly maxHeld: number,
    private readonly passOn: (dc: DeclarativeContent) => Promise<void>,
    stageSignal: AbortSignal,
    /**
     * Asked when a file of `dc` failed: true when it left the content out (resolved it), so the
     * window goes on without it; false, or a throw, fails the window.
     */
    private readonly leaveOut: (dc: DeclarativeContent, artifact: DeclarativeArtifact, error: unknown) => boolean = () => false,
  ) {
    // every download listens to this signal, in the fetcher's own steps too
    setMaxListeners(Math.max(10, 4 * concurrency), this.controller.signal);
    const abort = (): void => this.controller.abort(stageSignal.reason);
    if (stageSignal.aborted) abort();
    stageSignal.addEventListener('abort', abort, { once: true });
    this.unlink = () => stageSignal.removeEventListener('abort', abort);
  }

  /** True when a download slot is free and the window may hold more content. */
  get hasRoom(): boolean {
    const held = this.contentInFlight + this.finished.length + (this.passing ? 1 : 0);
    return this.running + this.slotWaiters.length < this.concurrency && held < this.maxHeld;
  }

  /** True when nothing is downloading or being passed on, so nothing can change but new input. */
  get quiet(): boolean {
    return this.contentInFlight === 0 && !this.passing && this.finished.length === 0;
  }

  /** Settles when a download finishes, passing on pauses, or something failed. */
  nextChange(): Promise<void> {
    if (this.failure) return Promise.resolve();
    return new Promise<void>((resolve) => (this.notify = resolve));
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Starts the downloads of `dc`; content with none due goes straight to passing on. */
  admit(dc: DeclarativeContent, due: readonly DeclarativeArtifact[]): void {
    if (due.length === 0) {
      this.finish(dc);
      return;
    }
    this.contentInFlight++;
    const settle = (failure?: { artifact: DeclarativeArtifact; error: unknown }): void => {
      this.contentInFlight--;
      if (failure) this.failed(dc, failure.artifact, failure.error);
      else this.finish(dc);
      this.wake();
    };
    if (due.length === 1) {
      // most content has one file: no array of settled results to build for it
      void this.download(due[0]!).then(() => settle(), (error: unknown) => settle({ artifact: due[0]!, error }));
      return;
    }
    void Promise.allSettled(due.map((artifact) => this.download(artifact))).then((results) => {
      const at = results.findIndex((r) => r.status === 'rejected');
      settle(at >= 0 ? { artifact: due[at]!, error: (results[at] as PromiseRejectedResult).reason } : undefined);
    });
  }

  /** Stops every download, waits until all have settled and passing on has stopped, and releases the stage's signal. */
  async stop(error: unknown): Promise<void> {
    this.recordFailure(error);
    while (this.contentInFlight > 0 || this.passing) await new Promise<void>((resolve) => (this.notify = resolve));
    this.unlink();
  }

  /** Releases the stage's signal once the run is over and the window quiet. */
  close(): void {
    this.unlink();
  }

  /** A file of `dc` failed: the content is left out if `leaveOut` says so, else the window fails. */
  private failed(dc: DeclarativeContent, artifact: DeclarativeArtifact, error: unknown): void {
    // once stopping, downloads fail because they were aborted: nothing to leave out
    if (this.failure) return;
    try {
      if (this.leaveOut(dc, artifact, error)) return;
    } catch (refused) {
      this.recordFailure(refused);
      return;
    }
    this.recordFailure(error);
  }

  private finish(dc: DeclarativeContent): void {
    this.finished.push(dc);
    if (!this.passing) void this.passFinishedOn();
  }

  private async passFinishedOn(): Promise<void> {
    this.passing = true;
    try {
      for (let dc = this.finished.shift(); dc && !this.failure; dc = this.finished.shift()) {
        if (dc.resolved) continue;
        await this.passOn(dc);
        this.wake(); // room for one more
      }
    } catch (error) {
      this.recordFailure(error);
    } finally {
      this.passing = false;
      this.wake();
    }
  }

  private async download(artifact: DeclarativeArtifact): Promise<void> {
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    this.running++;
    try {
      this.controller.signal.throwIfAborted();
      const expected: DownloadExpectation = {
        ...(artifact.size !== undefined ? { size: artifact.size } : {}),
        digests: artifact.digests,
      };
      artifact.downloaded = await this.fetcher.download(artifact.urls, expected, this.controller.signal);
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

  private wake(): void {
    const notify = this.notify;
    this.notify = undefined;
    notify?.();
  }
}
