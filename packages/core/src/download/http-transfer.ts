import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import { parseRetryAfter } from './retry-policy.js';
import { transportError } from './transport-errors.js';
import type { VerifyingFileWriter } from './verifying-file-writer.js';

/** An error or redirect body longer than this is not worth draining: the connection is dropped. */
const MAX_DISCARDED_BODY = 64 * 1024;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** One GET of one url, its body going into `writer`. */
export interface HttpTransferRequest {
  readonly dispatcher: Dispatcher;
  /** Without userinfo: credentials travel only in `headers`. */
  readonly url: URL;
  /** The redacted url, the only form that goes into messages. */
  readonly displayUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly writer: VerifyingFileWriter;
  readonly signal?: AbortSignal;
  readonly cancelled: () => TributaryError;
  /**
   * Longest silence allowed, from dispatch on: waiting for the connection and the response
   * headers, and every gap between two body chunks, time the body waits for the disk included.
   */
  readonly idleTimeoutMs: number;
}

export type HttpTransferOutcome = { readonly redirectTo?: URL };

/**
 * Runs one request through undici's dispatcher with a handler that feeds body chunks straight to
 * the writer — no stream or promise per chunk — and pauses the socket when the disk lags. Resolves
 * when the whole body is in the writer (or with the target of a redirect); rejects with a typed
 * error: TRIBUTARY_ERR_HTTP_STATUS (details.status, details.retryAfterMs), _NETWORK, _TIMEOUT,
 * _SIZE_MISMATCH, or _SYNC_CANCELLED as soon as the signal aborts.
 *
 * Its own idle timer ends the transfer with TRIBUTARY_ERR_TIMEOUT once nothing happened for
 * `idleTimeoutMs`: undici's body timeout stops counting while the socket is paused for the disk,
 * and its headers timeout is a separate, longer setting, so neither alone bounds a stall.
 */
export function httpTransfer(request: HttpTransferRequest): Promise<HttpTransferOutcome> {
  return new Promise<HttpTransferOutcome>((resolve, reject) => {
    const handler = new TransferHandler(request, resolve, reject);
    request.writer.onStreamError = (error) => handler.fail(error);
    if (request.signal?.aborted) return handler.fail(request.cancelled());
    request.signal?.addEventListener('abort', handler.onAbort, { once: true });
    handler.startIdleTimer();
    try {
      request.dispatcher.dispatch(
        {
          origin: request.url.origin,
          path: `${request.url.pathname}${request.url.search}`,
          method: 'GET',
          headers: request.headers,
        },
        handler,
      );
    } catch (error) {
      handler.fail(transportError(error, request.displayUrl));
    }
  });
}

class TransferHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private settled = false;
  private abortReason: Error | undefined;
  private status = 0;
  private location: string | undefined;
  private retryAfterMs: number | undefined;
  private discarded = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** When the transfer last made progress (performance.now()): one number written per chunk, no timer call. */
  private lastProgress = 0;

  constructor(
    private readonly request: HttpTransferRequest,
    private readonly resolve: (outcome: HttpTransferOutcome) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  readonly onAbort = (): void => this.fail(this.request.cancelled());

  startIdleTimer(): void {
    this.lastProgress = performance.now();
    this.idleTimer = setTimeout(this.onIdleTimer, this.request.idleTimeoutMs);
  }

  /** Fails the transfer when it has been silent for the whole idle timeout, else waits for the rest of it. */
  private readonly onIdleTimer = (): void => {
    if (this.settled) return;
    const silentMs = performance.now() - this.lastProgress;
    const idleMs = this.request.idleTimeoutMs;
    if (silentMs < idleMs) {
      this.idleTimer = setTimeout(this.onIdleTimer, Math.max(1, Math.ceil(idleMs - silentMs)));
      return;
    }
    const phase = this.status === 0 ? 'headers' : 'idle';
    const what = this.status === 0 ? 'no response' : 'no data';
    this.fail(
      new TributaryError(ErrorCodes.TIMEOUT, `download of ${this.request.displayUrl} timed out (${phase}): ${what} for ${idleMs} ms`, {
        details: { url: this.request.displayUrl, phase, idleTimeoutMs: idleMs },
      }),
    );
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Aborted while queued in the pool: stop before a byte goes out.
    if (this.abortReason !== undefined) controller.abort(this.abortReason);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200 || this.settled) return;
    this.lastProgress = performance.now();
    this.status = statusCode;
    if (statusCode >= 300) {
      const location = headers['location'];
      this.location = Array.isArray(location) ? location[0] : location;
      this.retryAfterMs = parseRetryAfter(headers['retry-after']);
      return;
    }
    const length = headers['content-length'];
    if (typeof length === 'string' && /^\d+$/.test(length)) {
      try {
        this.request.writer.checkDeclaredLength(Number(length));
      } catch (error) {
        this.fail(error as Error);
      }
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    this.lastProgress = performance.now();
    if (this.status >= 300) {
      this.discarded += chunk.length;
      if (this.discarded > MAX_DISCARDED_BODY) this.fail(this.statusError());
      return;
    }
    let more: boolean;
    try {
      more = this.request.writer.write(chunk);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    if (!more) {
      // the idle timer goes on counting while the body waits for the disk
      controller.pause();
      this.request.writer.onDrain(() => {
        this.lastProgress = performance.now();
        controller.resume();
      });
    }
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settle();
    if (this.status < 300) return this.resolve({});
    if (REDIRECTS.has(this.status) && this.location !== undefined) {
      try {
        return this.resolve({ redirectTo: new URL(this.location, this.request.url) });
      } catch {
        return this.reject(
          new TributaryError(ErrorCodes.URL_INVALID, `${this.request.displayUrl} redirects to an invalid location`, {
            details: { url: this.request.displayUrl, status: this.status },
          }),
        );
      }
    }
    this.reject(this.statusError());
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.settled) return;
    this.settle();
    this.reject(transportError(error, this.request.displayUrl));
  }

  /** Ends the transfer now with `error`, aborting the request if it is under way. */
  fail(error: Error): void {
    if (this.settled) return;
    this.settle();
    this.abortReason = error;
    this.controller?.abort(error);
    this.reject(error);
  }

  private settle(): void {
    this.settled = true;
    clearTimeout(this.idleTimer);
    this.request.signal?.removeEventListener('abort', this.onAbort);
  }

  private statusError(): TributaryError {
    const status = this.status;
    return new TributaryError(ErrorCodes.HTTP_STATUS, `download of ${this.request.displayUrl} failed: HTTP ${status}`, {
      details: {
        url: this.request.displayUrl,
        status,
        ...(this.retryAfterMs !== undefined ? { retryAfterMs: this.retryAfterMs } : {}),
      },
    });
  }
}
