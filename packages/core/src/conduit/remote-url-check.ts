import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import { redactUrl } from '../download/redact-url.js';

const SUPPORTED_PROTOCOLS: readonly string[] = ['http:', 'https:', 'file:'];

/**
 * `scheme://authority/` of a special-scheme url: the authority ends at the first `/`, `\`, `?` or
 * `#`, and this prefix ends at a `/`.
 */
const ORIGIN_PREFIX = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/\\?#]*\//;

/** What a refused url belonged to, for the message: `'rpm.package' unit {…}, artifact 'a.rpm'`. Built only for an error. */
export type UrlOwner = string | (() => string);

/**
 * Checks remote urls a plugin declares: absolute, and http, https or file. Urls built from remote
 * metadata stay on the remote's scheme: a `file:` url is accepted only when the sync's feed is a
 * `file:` url itself, else it is TRIBUTARY_ERR_PATH_UNSAFE naming its owner. http and https stay
 * interchangeable and any host is allowed (yum mirrors live on other hosts). The check only parses:
 * it never touches the file system, so its verdict says nothing about a local file.
 *
 * Every file of a sync has a url, and nearly all of them share their scheme and host, so once a url
 * of an origin is accepted its `scheme://authority/` prefix is remembered and a url starting with it
 * is accepted without being parsed: in a url of a special scheme, what follows the authority (path,
 * query, fragment) can never make the WHATWG parser fail, so such a url is valid exactly when its
 * prefix is, and the policy depends on the scheme alone.
 */
export class RemoteUrlCheck {
  private acceptedPrefix: string | undefined;
  /** Whether `file:` urls are accepted. */
  private readonly localFiles: boolean;
  /** The feed as messages show it (without credentials). */
  private readonly feed: string | undefined;

  /**
   * @param feedUrl the sync's feed url (redacted or not: only its scheme is used, and it is shown
   *   redacted). Without one, `file:` urls are accepted as before.
   */
  constructor(feedUrl?: string) {
    this.feed = feedUrl === undefined ? undefined : redactUrl(feedUrl);
    this.localFiles = feedUrl === undefined || schemeOf(feedUrl) === 'file:';
  }

  /** Throws TRIBUTARY_ERR_URL_INVALID or _PATH_UNSAFE, naming `owner`, unless `url` may be recorded and fetched. */
  check(url: string, owner?: UrlOwner): void {
    if (this.acceptedPrefix !== undefined && url.startsWith(this.acceptedPrefix)) return;
    this.checkUrl(url, owner);
    const prefix = ORIGIN_PREFIX.exec(url)?.[0];
    if (prefix === undefined) return;
    // the prefix alone must pass too, so that what it accepts never depends on the rest of this url
    try {
      this.checkUrl(prefix, undefined);
    } catch {
      return;
    }
    this.acceptedPrefix = prefix;
  }

  private checkUrl(url: string, owner: UrlOwner | undefined): void {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TributaryError(ErrorCodes.URL_INVALID, `${ownerPrefix(owner)}remote url ${JSON.stringify(redactUrl(url).slice(0, 200))} is not a valid absolute url`);
    }
    if (!SUPPORTED_PROTOCOLS.includes(parsed.protocol)) {
      throw new TributaryError(ErrorCodes.URL_INVALID, `${ownerPrefix(owner)}remote url scheme '${parsed.protocol}' is not supported (http, https, file)`);
    }
    if (parsed.protocol === 'file:' && !this.localFiles) {
      const shown = redactUrl(url);
      const named = owner === undefined ? undefined : typeof owner === 'string' ? owner : owner();
      throw new TributaryError(
        ErrorCodes.PATH_UNSAFE,
        `${named === undefined ? '' : `${named}: `}remote url ${shown} names a local file, but the feed ${this.feed} is not a file: url; urls from remote metadata must stay on the remote's scheme (file: only for a file: feed)`,
        { details: { url: shown, feed: this.feed, ...(named !== undefined ? { owner: named } : {}) } },
      );
    }
  }
}

function ownerPrefix(owner: UrlOwner | undefined): string {
  if (owner === undefined) return '';
  return `${typeof owner === 'string' ? owner : owner()}: `;
}

/** The scheme of a url (`https:`), or `invalid:` for something that is not one. */
function schemeOf(url: string): string {
  try {
    return new URL(url).protocol;
  } catch {
    return 'invalid:';
  }
}
