import { PUT_DONE, Stage, type DeclarativeArtifact, type DeclarativeContent } from '@tributary/plugin-api';
import { RemoteUrlCheck } from '../conduit/remote-url-check.js';
import { DownloadWindow } from './download-window.js';
import { downloadsNow } from './expected-unit-input.js';
import { batchSizeOf, downloadConcurrencyOf, type PipelineContext } from './pipeline-context.js';
import { DEFAULT_QUEUE_CAPACITY } from './run-pipeline.js';

const NOTHING_DUE: readonly DeclarativeArtifact[] = [];
/**
 * With a fetcher that limits its own transfers, downloads outstanding per allowed transfer: the
 * rest of a download's time is its body waiting for the disk (the storage's writer thread), and
 * a transfer slot should not idle through it (bench:file (b); see docs/performance.md). Bodies
 * held meanwhile are at most 1 MiB each (larger ones stream to disk).
 */
const OUTSTANDING_PER_TRANSFER = 3;

/**
 * Downloads the artifacts that are not stored and are due now: those declared with
 * `deferredDownload: false`, and, in an `immediate` sync, those that leave it undefined. Each file
 * goes through the fetcher (which verifies size and digests while streaming) and is left in
 * `artifact.downloaded` for ArtifactSaver.
 *
 * At most `downloadConcurrency` downloads run at once across the stage — or, with a fetcher that
 * limits its transfers to at most that many (its `transferLimit`, as the host's downloader does),
 * at most that many transfers and three times as many downloads, the others writing their bodies —
 * and it holds at most `downloads + queueCapacity + batchSize` content (downloading or waiting to
 * be passed on), so memory stays bounded while downloads continue through the time the next stage
 * spends on a batch (all of those files are headed for storage anyway). Content is passed on as soon as all of its files are in, not in arrival order, and
 * while downloads run, finished content keeps flowing: someone may be awaiting its future. The first
 * failed download stops the others and fails the stage once they have settled — unless the sync
 * skips units whose files fail (`ctx.skips`): such content is resolved with `undefined` and dropped
 * here, before anything of it is stored, up to the sync's limit.
 */
export class ArtifactDownloader extends Stage {
  /** Checks due urls before any is fetched (`file:` only from a `file:` feed), naming the unit when it refuses one. */
  private readonly remoteUrls: RemoteUrlCheck;

  constructor(private readonly ctx: PipelineContext) {
    super('ArtifactDownloader');
    this.remoteUrls = new RemoteUrlCheck(ctx.settings.url);
  }

  override async run(): Promise<void> {
    const transfers = downloadConcurrencyOf(this.ctx);
    const limit = this.ctx.fetcher.transferLimit;
    const concurrency = limit !== undefined && limit <= transfers ? transfers * OUTSTANDING_PER_TRANSFER : transfers;
    // room for a whole batch beyond the queue, so downloads go on while ArtifactSaver stores one
    const maxHeld = concurrency + (this.ctx.queueCapacity ?? DEFAULT_QUEUE_CAPACITY) + batchSizeOf(this.ctx);
    const skips = this.ctx.skips;
    const window = new DownloadWindow(this.ctx.fetcher, concurrency, maxHeld, (dc) => this.put(dc), this.signal, skips ? (dc, artifact, error) => skips.skip(dc, artifact, error) : undefined);
    const input = this.items();
    let nextInput: Promise<IteratorResult<DeclarativeContent>> | undefined;
    let inputDone = false;
    try {
      for (;;) {
        window.throwIfFailed();
        if (inputDone && window.quiet) break;
        if (inputDone || !window.hasRoom) {
          await window.nextChange();
          continue;
        }
        nextInput ??= input.next();
        // when nothing is downloading or passing on, only new input can change anything
        const arrived = window.quiet ? await nextInput : await Promise.race([nextInput, window.nextChange().then(() => undefined)]);
        if (!arrived) continue;
        nextInput = undefined;
        if (arrived.done) {
          inputDone = true;
          if (this.ctx.progress) this.ctx.progress.artifactsListed = true;
          continue;
        }
        const dc = arrived.value;
        if (dc.resolved) continue;
        const due = this.dueArtifacts(dc);
        if (this.ctx.progress) this.ctx.progress.artifactsDue += due.length;
        // nothing to fetch and nothing ahead of it in the window (every content of an on_demand
        // sync): passed on at once, as the window would, without its bookkeeping per content
        if (due.length > 0 || !window.quiet) window.admit(dc, due);
        else {
          const pending = this.put(dc);
          if (pending !== PUT_DONE) await pending;
        }
      }
    } catch (error) {
      // an input read still pending rejects once the pipeline aborts; nobody waits for it any more
      nextInput?.catch(() => undefined);
      await window.stop(error);
      throw error;
    }
    window.close();
  }

  private dueArtifacts(dc: DeclarativeContent): readonly DeclarativeArtifact[] {
    const immediate = this.ctx.settings.policy === 'immediate';
    let due: DeclarativeArtifact[] | undefined;
    for (const a of dc.artifacts) {
      if (!a.stored && !a.downloaded && downloadsNow(a, immediate)) {
        for (const url of a.urls) this.remoteUrls.check(url, () => `'${dc.typeId}' unit ${JSON.stringify(dc.key)}, artifact '${a.relativePath}'`);
        (due ??= []).push(a);
      }
    }
    return due ?? NOTHING_DUE;
  }
}
