import { fileURLToPath } from 'node:url';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import { redactParsedUrl, redactUrl } from './redact-url.js';
import type { SecretScrubber } from './secret-scrubber.js';

/** A url made ready to fetch: credentials moved from the url into headers, a redacted form to show. */
export interface DownloadTarget {
  /** Without userinfo. */
  readonly url: URL;
  /** What messages and logs show: {@link redactUrl} of the url. */
  readonly display: string;
  /** Local path of a `file://` url. */
  readonly localFile?: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Parses a url to download. http(s) userinfo becomes a Basic Authorization header for this url
 * (registered with the scrubber as a secret) and leaves the url; `file://` urls name a local file;
 * anything else is TRIBUTARY_ERR_URL_INVALID, shown redacted.
 */
export function parseDownloadTarget(
  raw: string,
  baseHeaders: Readonly<Record<string, string>>,
  scrubber: SecretScrubber,
): DownloadTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    const shown = redactUrl(raw);
    throw new TributaryError(ErrorCodes.URL_INVALID, `${JSON.stringify(shown)} is not a valid absolute url`, { details: { url: shown } });
  }
  const display = redactParsedUrl(url);
  if (url.protocol === 'file:') {
    try {
      return { url, display, localFile: fileURLToPath(url), headers: baseHeaders };
    } catch {
      throw new TributaryError(ErrorCodes.URL_INVALID, `${display} is not a local file url`, { details: { url: display } });
    }
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TributaryError(ErrorCodes.URL_INVALID, `${display}: only http, https and file urls can be downloaded`, {
      details: { url: display },
    });
  }
  if (url.username === '' && url.password === '') return { url, display, headers: baseHeaders };
  const authorization = scrubber.addBasic(decode(url.username), decode(url.password));
  scrubber.addUrlUserinfo(raw);
  url.username = '';
  url.password = '';
  return { url, display, headers: { ...baseHeaders, authorization } };
}

/** Headers for a redirect to another origin: credentials stay with the origin they were given for. */
export function withoutCredentials(headers: Readonly<Record<string, string>>): Record<string, string> {
  const { authorization: _authorization, cookie: _cookie, ...rest } = headers;
  return rest;
}

function decode(component: string): string {
  try {
    return decodeURIComponent(component);
  } catch {
    return component;
  }
}
