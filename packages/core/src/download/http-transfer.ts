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
}

export type HttpTransferOutcome = { readonly redirectTo?: URL };

/**
 * Runs one request through undici's dispatcher with a handler that feeds body chunks straight to
 * the writer — no stream or promise per chunk — and pauses the socket when the disk lags. Resolves
 * when the whole body is in the writer (or with the target of a redirect); rejects with a typed
 * error: TRIBUTARY_ERR_HTTP_STATUS (details.status, details.retryAfterMs), _NETWORK, _TIMEOUT,
 * _SIZE_MISMATCH, or _SYNC_CANCELLED as soon as the signal aborts.
 */
export function httpTransfer(request: HttpTransferRequest): Promise<HttpTransferOutcome> {
  return new Promise<HttpTransferOutcome>((resolve, reject) => {
    const handler = new TransferHandler(request, resolve, reject);
    request.writer.onStreamError = (error) => handler.fail(error);
    if (request.signal?.aborted) return handler.fail(request.cancelled());
    request.signal?.addEventListener('abort', handler.onAbort, { once: true });
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

  constructor(
    private readonly request: HttpTransferRequest,
    private readonly resolve: (outcome: HttpTransferOutcome) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  readonly onAbort = (): void => this.fail(this.request.cancelled());

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
      controller.pause();
      this.request.writer.onDrain(() => controller.resume());
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
