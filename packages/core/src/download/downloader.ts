import { channel } from 'node:diagnostics_channel';
import fs from 'node:fs/promises';
import { debuglog } from 'node:util';
import type { Dispatcher } from 'undici';
import {
  ErrorCodes,
  TributaryError,
  isTributaryError,
  type DownloadExpectation,
  type DownloadedFile,
  type RemoteFetcher,
} from '@tributary/plugin-api';
import type { ArtifactStorage } from '../storage/artifact-storage.js';
import { normalizeExpectedDigests } from '../storage/streaming-digests.js';
import { fileTransfer } from './file-transfer.js';
import { httpTransfer } from './http-transfer.js';
import { OriginLimiter } from './origin-limiter.js';
import { parseDownloadTarget, withoutCredentials, type DownloadTarget } from './download-target.js';
import { redactParsedUrl, redactUrl } from './redact-url.js';
import { checkedProxyUrl, createRemoteDispatcher, resolveRemoteOptions, type RemoteOptions, type ResolvedRemoteOptions } from './remote-options.js';
import { isRetryable, retryDelayMs } from './retry-policy.js';
import { SecretScrubber } from './secret-scrubber.js';
import { transportError } from './transport-errors.js';
import { VerifyingFileWriter, type BodyFiles, type TempFile, type WriteExpectation } from './verifying-file-writer.js';

const debug = debuglog('tributary:download');
/**
 * Published before each retry: `{ url, retry, retries, delayMs, code, message }`, url redacted and
 * message scrubbed of credentials.
 */
export const DOWNLOAD_RETRY_CHANNEL = 'tributary:download:retry';
/** Published when one of several urls fails and the next is tried: `{ url, code, message }`. */
export const DOWNLOAD_URL_FAILED_CHANNEL = 'tributary:download:url-failed';
const retryChannel = channel(DOWNLOAD_RETRY_CHANNEL);
const urlFailedChannel = channel(DOWNLOAD_URL_FAILED_CHANNEL);
const MAX_REDIRECTS = 10;
/** The limiter's key for local files: `file://` transfers share one set of slots. */
const LOCAL_ORIGIN = 'file://';

/**
 * What a Downloader downloads for. Urls built from remote metadata (hrefs, `xml:base`, a
 * manifest's paths) must stay on the remote's scheme: a `file:` url is read only when the feed is
 * a `file:` url itself. http and https stay interchangeable and any host is allowed (mirrors on
 * other hosts are normal), as for redirects, which are never followed to `file:` either.
 */
export interface DownloadScope {
  /**
   * The sync's feed url. Unless it is a `file:` url, a `file:` url is refused with
   * TRIBUTARY_ERR_PATH_UNSAFE before any filesystem call, so neither a local file's size nor its
   * existence shows. Left out (an export, which reads the urls a sync accepted), `file:` urls are read.
   */
  readonly feedUrl?: string;
}

/** The transfer slot a download kept from its failed attempt, and whether it is retrying. */
interface TransferSlots {
  kept?: { readonly origin: string; readonly release: () => void };
  /** Set once an attempt failed: waits for slots then go before transfers that have not started. */
  retry: boolean;
}

/** Counters of one Downloader, for reports and benchmarks. */
export interface DownloaderStats {
  /** HTTP requests sent, retries and redirects included. */
  requests: number;
  /** Attempts repeated after a retryable failure. */
  retries: number;
  /** Bytes of the files delivered. */
  bytes: number;
  /** Files delivered. */
  files: number;
}

/**
 * The host's downloader for one sync (one scratch scope) and one remote's settings. Holds one pooled
 * undici dispatcher (an Agent, or a ProxyAgent), at most `concurrency` transfers per origin, and
 * retries with jittered exponential backoff. A failed transfer keeps its slot through the backoff
 * to its retry, so the attempts at a stalled file follow one another and are never queued behind
 * other transfers; every attempt ends once it has been idle for `idleTimeoutMs`. Bytes land in the
 * scope's temp area verified (size and digests, computed while streaming) or not at all.
 * Credentials never appear in its errors or logs: every url is shown through {@link redactUrl}.
 *
 * @example
 * ```ts
 * const downloader = new Downloader(storage, syncId, { username: 'bob', password: 's3cret', retries: 5 });
 * const file = await downloader.download('https://mirror.example/repo/a.rpm', { size: 1234, digests: { sha256 } }, signal);
 * await storage.adoptDownloaded(file);
 * await downloader.close();
 * ```
 */
export class Downloader implements RemoteFetcher {
  readonly stats: DownloaderStats = { requests: 0, retries: 0, bytes: 0, files: 0 };
  /** At most this many transfers per origin at once (`file://` urls count as one origin). */
  readonly transferLimit: number;
  private readonly options: ResolvedRemoteOptions;
  /** Made by the first http(s) transfer: a sync of `file:` urls never loads undici. */
  private dispatcherMade: Dispatcher | undefined;
  private readonly remoteOptions: RemoteOptions;
  private readonly limiter: OriginLimiter;
  private readonly scrubber: SecretScrubber;
  private readonly baseHeaders: Readonly<Record<string, string>>;
  /** Whether `file:` urls are read: the feed is a `file:` url, or there is no feed. */
  private readonly readsLocalFiles: boolean;
  /** The feed's scheme, for the message refusing a `file:` url. */
  private readonly feedScheme: string;
  private closing: Promise<void> | undefined;
  /** Bodies are hashed and written by the storage's writer thread: held in memory, staged beside their content address; larger, streamed to it. */
  private readonly files: BodyFiles = {
    writeMatching: (_temp, body, expected, owned) => this.storage.stageBody(this.scopeId, body, expected, { transfer: owned }),
    stream: (temp, algorithms, events) => this.storage.streamTempFile(temp, algorithms, events),
    bodyMemory: (size) => this.storage.bodyMemory(size),
  };

  constructor(
    private readonly storage: ArtifactStorage,
    private readonly scopeId: string,
    options: RemoteOptions = {},
    scope: DownloadScope = {},
  ) {
    this.options = resolveRemoteOptions(options);
    this.feedScheme = scope.feedUrl === undefined ? 'file:' : schemeOf(scope.feedUrl);
    this.readsLocalFiles = this.feedScheme === 'file:';
    this.scrubber = new SecretScrubber();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.options.headers)) {
      headers[name.toLowerCase()] = value;
      if (/^(authorization|proxy-authorization|cookie)$/i.test(name)) this.scrubber.addHeaderValue(value);
    }
    if (this.options.username !== undefined) {
      headers['authorization'] = this.scrubber.addBasic(this.options.username, this.options.password ?? '');
    }
    this.baseHeaders = headers;
    if (options.proxyUrl !== undefined) {
      this.scrubber.addUrlUserinfo(options.proxyUrl);
      checkedProxyUrl(options.proxyUrl);
    }
    this.remoteOptions = options;
    this.limiter = new OriginLimiter(this.options.concurrency);
    this.transferLimit = this.options.concurrency;
  }

  /**
   * Downloads `url`, or each of several urls in turn until one delivers, to a temporary file of
   * the scope, verifying `expected` while streaming. On failure nothing is left behind and the
   * last url's error is thrown (TRIBUTARY_ERR_HTTP_STATUS, _NETWORK, _TIMEOUT, _SIZE_MISMATCH,
   * _DIGEST_MISMATCH, _URL_INVALID, or _PATH_UNSAFE for a `file:` url the {@link DownloadScope}
   * does not allow, which also ends the download); an aborted `signal` rejects at once with
   * TRIBUTARY_ERR_SYNC_CANCELLED.
   */
  async download(
    url: string | readonly string[],
    expected: DownloadExpectation = {},
    signal?: AbortSignal,
    observe: { readonly onDisk?: (bytes: number, path: string) => void; readonly onChunk?: (chunk: Buffer, offset: number) => void } = {},
  ): Promise<DownloadedFile> {
    const urls = typeof url === 'string' ? [url] : [...url];
    if (urls.length === 0) throw new TributaryError(ErrorCodes.URL_INVALID, 'download needs at least one url');
    const first = String(urls[0]);
    // the redacted url is only worked out when an error names it
    const shown = (): string => redactUrl(first);
    const expectation: WriteExpectation = {
      size: checkedSize('size', expected.size, shown),
      maxBytes: checkedSize('maxBytes', expected.maxBytes, shown),
      digests: normalizeExpectedDigests(expected.digests, () => `download of ${shown()}`),
      ...(observe.onDisk !== undefined ? { onDisk: observe.onDisk } : {}),
      ...(observe.onChunk !== undefined ? { onChunk: observe.onChunk } : {}),
    };
    const file: TempFile = { path: this.storage.tempFilePath(this.scopeId, lastSegment(first)), created: false };
    let failure: unknown;
    for (const candidate of urls) {
      try {
        const result = await this.downloadFrom(String(candidate), file, expectation, signal);
        this.stats.files++;
        this.stats.bytes += result.size;
        return result;
      } catch (error) {
        failure = error;
        // a url no attempt may read (a local file named by remote metadata) ends the download too
        if (isTributaryError(error, ErrorCodes.SYNC_CANCELLED) || isTributaryError(error, ErrorCodes.PATH_UNSAFE)) break;
        if (urls.length > 1) this.reportUrlFailed(String(candidate), error);
      }
    }
    if (file.created) await fs.rm(file.path, { force: true }).catch(() => undefined);
    if (isTributaryError(failure) && urls.length > 1) failure.details['urlsTried'] = urls.length;
    throw this.scrubber.error(failure);
  }

  /**
   * Closes the pooled connections; the downloader cannot be used afterwards. A transfer still
   * under way is aborted rather than waited for: closing ends the sync's use of the remote.
   */
  close(): Promise<void> {
    this.closing ??= this.dispatcherMade === undefined ? Promise.resolve() : this.dispatcherMade.destroy().catch(() => undefined);
    return this.closing;
  }

  private get dispatcher(): Dispatcher {
    if (this.dispatcherMade === undefined && this.closing !== undefined) throw new TributaryError(ErrorCodes.NETWORK, 'the downloader is closed');
    return (this.dispatcherMade ??= createRemoteDispatcher(this.remoteOptions, this.options));
  }

  private reportUrlFailed(url: string, error: unknown): void {
    const display = redactUrl(url);
    const message = this.scrubber.text(error instanceof Error ? error.message : String(error));
    const code = isTributaryError(error) ? error.code : undefined;
    debug('giving up on %s: %s', display, message);
    if (urlFailedChannel.hasSubscribers) urlFailedChannel.publish({ url: display, code, message });
  }

  private async downloadFrom(
    raw: string,
    file: TempFile,
    expectation: WriteExpectation,
    signal: AbortSignal | undefined,
  ): Promise<DownloadedFile> {
    const target = parseDownloadTarget(raw, this.baseHeaders, this.scrubber);
    const cancelled = (): TributaryError => cancellation(target.display, signal);
    if (signal?.aborted) throw cancelled();
    if (target.localFile !== undefined) {
      // before any filesystem call: neither a file's size nor its existence may show in the error
      if (!this.readsLocalFiles) throw this.localFileRefused(target.display);
      const release = this.limiter.tryAcquire(LOCAL_ORIGIN) ?? (await this.limiter.acquire(LOCAL_ORIGIN, signal, cancelled));
      const writer = new VerifyingFileWriter(file, expectation, `download of ${target.display}`, this.files);
      const transfer = fileTransfer(target.localFile, target.display, writer, signal, cancelled).finally(release);
      return this.complete(writer, transfer);
    }
    const slots: TransferSlots = { retry: false };
    try {
      for (let retry = 0; ; retry++) {
        try {
          return await this.fetchFollowingRedirects(target, file, expectation, signal, cancelled, slots);
        } catch (caught) {
          const error = transportError(caught, target.display);
          if (signal?.aborted) throw cancelled();
          if (!isRetryable(error) || retry >= this.options.retries) throw error;
          const delay = retryDelayMs(error, retry, this.options.backoffMs);
          this.stats.retries++;
          slots.retry = true;
          const message = this.scrubber.text(error.message);
          debug('retry %d/%d of %s in %d ms after %s', retry + 1, this.options.retries, target.display, Math.round(delay), message);
          if (retryChannel.hasSubscribers) {
            retryChannel.publish({ url: target.display, retry: retry + 1, retries: this.options.retries, delayMs: delay, code: error.code, message });
          }
          await sleep(delay, signal, cancelled);
        }
      }
    } finally {
      slots.kept?.release();
    }
  }

  /**
   * A slot for a transfer to `origin`: the one the download kept from its failed attempt when it is
   * for this origin, else a free one now, else undefined (the caller waits in the queue). A kept slot
   * of another origin is given up rather than held while waiting, so no two downloads can ever wait
   * for each other's slots.
   */
  private slotNow(origin: string, slots: TransferSlots): (() => void) | undefined {
    const kept = slots.kept;
    if (kept !== undefined && kept.origin === origin) {
      slots.kept = undefined;
      return kept.release;
    }
    const release = this.limiter.tryAcquire(origin);
    if (release === undefined && kept !== undefined) {
      slots.kept = undefined;
      kept.release();
    }
    return release;
  }

  private async fetchFollowingRedirects(
    target: DownloadTarget,
    file: TempFile,
    expectation: WriteExpectation,
    signal: AbortSignal | undefined,
    cancelled: () => TributaryError,
    slots: TransferSlots,
  ): Promise<DownloadedFile> {
    let url = target.url;
    let display = target.display;
    let headers = target.headers;
    for (let hop = 0; ; hop++) {
      const origin = url.origin;
      const release = this.slotNow(origin, slots) ?? (await this.limiter.acquire(origin, signal, cancelled, slots.retry));
      const writer = new VerifyingFileWriter(file, expectation, `download of ${display}`, this.files);
      this.stats.requests++;
      let redirectTo: URL | undefined;
      let failed = true;
      try {
        ({ redirectTo } = await httpTransfer({
          dispatcher: this.dispatcher,
          url,
          displayUrl: display,
          headers,
          writer,
          ...(signal !== undefined ? { signal } : {}),
          cancelled,
          idleTimeoutMs: this.options.idleTimeoutMs,
        }));
        failed = false;
      } catch (error) {
        await writer.discard();
        throw error;
      } finally {
        // A failed transfer keeps its slot for the retry that may follow (downloadFrom releases it
        // when there is none): the retry must not queue behind transfers that have not started, or a
        // stalled file's attempts would each wait out every other stalled transfer first.
        if (failed) {
          slots.kept?.release();
          slots.kept = { origin, release };
        } else release();
      }
      if (redirectTo === undefined) return this.complete(writer);
      await writer.discard();
      if (redirectTo.protocol !== 'http:' && redirectTo.protocol !== 'https:') {
        throw new TributaryError(ErrorCodes.URL_INVALID, `${display} redirects to a ${redirectTo.protocol} url, only http(s) is followed`);
      }
      if (hop + 1 >= MAX_REDIRECTS) {
        throw new TributaryError(ErrorCodes.HTTP_STATUS, `download of ${target.display} failed: more than ${MAX_REDIRECTS} redirects`, {
          details: { url: target.display, redirects: MAX_REDIRECTS },
        });
      }
      if (redirectTo.origin !== url.origin) headers = withoutCredentials(headers);
      this.scrubber.addUrlUserinfo(redirectTo.href);
      redirectTo.username = '';
      redirectTo.password = '';
      url = redirectTo;
      display = redactParsedUrl(url);
    }
  }

  /** TRIBUTARY_ERR_PATH_UNSAFE for a `file:` url in a sync whose feed is not `file:`: the same words whether the file exists or not. */
  private localFileRefused(display: string): TributaryError {
    return new TributaryError(
      ErrorCodes.PATH_UNSAFE,
      `download of ${display} refused: it names a local file, and the feed of this sync is a ${this.feedScheme} url (only a file: feed may name local files)`,
      { details: { url: display, feedScheme: this.feedScheme } },
    );
  }

  /** Waits for the transfer (if still under way), then verifies and writes the file; removes it on any failure. */
  private async complete(writer: VerifyingFileWriter, transfer?: Promise<void>): Promise<DownloadedFile> {
    try {
      if (transfer !== undefined) await transfer;
      return await writer.finish();
    } catch (error) {
      await writer.discard();
      throw error;
    }
  }
}

/** The scheme of a url (`https:`), or `invalid:` for something that is not one. */
function schemeOf(url: string): string {
  try {
    return new URL(url).protocol;
  } catch {
    return 'invalid:';
  }
}

function checkedSize(name: 'size' | 'maxBytes', value: number | undefined, shown: () => string): number | undefined {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
    throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `download of ${shown()}: expected ${name} ${String(value)} is not a non-negative integer`);
  }
  return value;
}

/** The last path segment of a url, query and fragment cut off: only a readable hint for a temp name. */
function lastSegment(url: string): string {
  let end = url.indexOf('?');
  const fragment = url.indexOf('#');
  if (end < 0 || (fragment >= 0 && fragment < end)) end = fragment;
  if (end < 0) end = url.length;
  return url.slice(url.lastIndexOf('/', end - 1) + 1, end);
}


function cancellation(display: string, signal: AbortSignal | undefined): TributaryError {
  const reason: unknown = signal?.reason;
  return new TributaryError(ErrorCodes.SYNC_CANCELLED, `download of ${display} was cancelled`, {
    ...(reason instanceof Error ? { cause: reason } : {}),
    details: { url: display },
  });
}

function sleep(ms: number, signal: AbortSignal | undefined, cancelled: () => TributaryError): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(cancelled());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
