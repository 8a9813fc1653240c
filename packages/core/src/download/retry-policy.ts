import { ErrorCodes, type TributaryError } from '@tributary/plugin-api';

/** Longest wait between two attempts, whatever the backoff or a server's Retry-After says. */
export const MAX_RETRY_DELAY_MS = 30_000;

/**
 * Whether another attempt at the same url may succeed: connection failures, timeouts, 429 and
 * 5xx. Other 4xx, size and digest mismatches and TLS verification failures are final.
 */
export function isRetryable(error: TributaryError): boolean {
  switch (error.code) {
    case ErrorCodes.TIMEOUT:
      return true;
    case ErrorCodes.NETWORK:
      return error.details['tls'] !== true && error.details['local'] !== true;
    case ErrorCodes.HTTP_STATUS: {
      const status = error.details['status'];
      return typeof status === 'number' && (status === 429 || status >= 500);
    }
    default:
      return false;
  }
}

/**
 * Delay before retry number `retry` (0 for the first): the server's Retry-After when it gave one,
 * else `backoffMs · 2^retry` scaled by a random factor in [0.5, 1.5) so clients spread out.
 */
export function retryDelayMs(error: TributaryError, retry: number, backoffMs: number): number {
  const retryAfter = error.details['retryAfterMs'];
  if (typeof retryAfter === 'number') return Math.min(retryAfter, MAX_RETRY_DELAY_MS);
  const base = backoffMs * 2 ** Math.min(retry, 20);
  return Math.min(base * (0.5 + Math.random()), MAX_RETRY_DELAY_MS);
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
