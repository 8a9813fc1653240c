import { ErrorCodes, TributaryError } from '@tributary/plugin-api';

const SUPPORTED_PROTOCOLS: readonly string[] = ['http:', 'https:', 'file:'];

/**
 * `scheme://authority/` of a special-scheme url: the authority ends at the first `/`, `\`, `?` or
 * `#`, and this prefix ends at a `/`.
 */
const ORIGIN_PREFIX = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/\\?#]*\//;

/**
 * Checks remote urls a plugin declares: absolute, and http, https or file. Every file of a sync has
 * one, and nearly all of them share their scheme and host, so once a url of an origin is accepted
 * its `scheme://authority/` prefix is remembered and a url starting with it is accepted without
 * being parsed: in a url of a special scheme, what follows the authority (path, query, fragment)
 * can never make the WHATWG parser fail, so such a url is valid exactly when its prefix is.
 */
export class RemoteUrlCheck {
  private acceptedPrefix: string | undefined;

  check(url: string): void {
    if (this.acceptedPrefix !== undefined && url.startsWith(this.acceptedPrefix)) return;
    checkRemoteUrl(url);
    const prefix = ORIGIN_PREFIX.exec(url)?.[0];
    if (prefix === undefined) return;
    // the prefix alone must pass too, so that what it accepts never depends on the rest of this url
    try {
      checkRemoteUrl(prefix);
    } catch {
      return;
    }
    this.acceptedPrefix = prefix;
  }
}

function checkRemoteUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TributaryError(ErrorCodes.URL_INVALID, `remote url ${JSON.stringify(url.slice(0, 200))} is not a valid absolute url`);
  }
  if (!SUPPORTED_PROTOCOLS.includes(parsed.protocol)) {
    throw new TributaryError(ErrorCodes.URL_INVALID, `remote url scheme '${parsed.protocol}' is not supported (http, https, file)`);
  }
}
