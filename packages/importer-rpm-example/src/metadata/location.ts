import { ErrorCodes, TributaryError } from '@tributary/plugin-api';

/** The repository base url with exactly one trailing slash, so relative hrefs resolve under it. */
export function repositoryBaseUrl(feedUrl: string): string {
  const url = new URL(feedUrl);
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.toString();
}

/** `url` fit for a message: no user info, and no query (signed urls carry tokens there). */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    const hadQuery = parsed.search !== '';
    parsed.search = '';
    return hadQuery ? `${parsed.toString()}?…` : parsed.toString();
  } catch {
    return '(an invalid url)';
  }
}

/**
 * The url a `<location href="…" xml:base="…"/>` points at: `href` resolved against `xml:base` when
 * the element has one (createrepo_c --baseurl writes it), else against the repository base url.
 * `where` names the location in an error (a function, so it is only built for one).
 */
export function locationUrl(href: string, xmlBase: string | undefined, baseUrl: string, where: string | (() => string)): string {
  // the usual case, once per package of primary: what URL resolution would give, without a URL
  if (!xmlBase && PLAIN_HREF.test(href) && !NEEDS_REWRITING.test(href) && isPlainBase(baseUrl)) return baseUrl + href;
  try {
    const base = xmlBase ? new URL(xmlBase.endsWith('/') ? xmlBase : `${xmlBase}/`, baseUrl).toString() : baseUrl;
    return new URL(href, base).toString();
  } catch (error) {
    if (typeof where !== 'string') where = where();
    throw new TributaryError(ErrorCodes.URL_INVALID, `${where}: location ${JSON.stringify(href)}${xmlBase ? ` with xml:base ${JSON.stringify(xmlBase)}` : ''} is not a valid url`, {
      cause: error,
      details: { where, href },
    });
  }
}

/**
 * The relative path a unit's file is stored and exported under, derived from a location href alone
 * (never from xml:base, so a tree exported from a `--baseurl` repository keeps the hrefs its
 * metadata names). The rules, applied in this order, keep the path inside the repository:
 *
 * - `./` and empty segments are dropped, and `dir/../` pairs cancel out;
 * - each `..` that would climb above the repository root becomes a `_parent` segment
 *   (`../../Packages/a.rpm` → `_parent/_parent/Packages/a.rpm`);
 * - an href starting with `/` (host-absolute) is put under `_root/`;
 * - an href with a scheme (`https://mirror/x/a.rpm`) is put under `_external/<host>/` with its
 *   decoded path.
 *
 * Hrefs that need no rewriting (the normal case) come back unchanged, so dnf finds the files of an
 * exported tree where its metadata says they are.
 */
export function storedRelativePath(href: string): string {
  if (!NEEDS_REWRITING.test(href)) return href;
  let prefix: string[] = [];
  let path = href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(href)) {
    try {
      const url = new URL(href);
      prefix = ['_external', url.host || 'localhost'];
      path = safeDecode(url.pathname);
    } catch {
      // not a url after all: treat it as a path
    }
  } else if (href.startsWith('/')) {
    prefix = ['_root'];
  }
  const kept: string[] = [];
  let above = 0;
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (kept.length > 0) kept.pop();
      else above++;
      continue;
    }
    kept.push(segment);
  }
  return [...prefix, ...Array.from({ length: above }, () => '_parent'), ...kept].join('/');
}

/** Hrefs that are not already a plain relative path: a scheme, a leading `/`, `//`, `.` or `..` segments. */
const NEEDS_REWRITING = /^[a-z][a-z0-9+.-]*:|^\/|\/\/|(^|\/)\.\.?(\/|$)/i;

/** Characters a URL keeps as they are in a path (checked against WHATWG URL); no `:`, `%`, `?` or `#`. */
const PLAIN_HREF = /^[A-Za-z0-9._~+^@!$&'()*,;=/-]+$/;

let lastPlainBase: string | undefined;

/** Whether `baseUrl` is a serialised url ending in `/` without query or fragment (a plain href then just appends). */
function isPlainBase(baseUrl: string): boolean {
  if (baseUrl === lastPlainBase) return true;
  if (!baseUrl.endsWith('/') || baseUrl.includes('?') || baseUrl.includes('#')) return false;
  try {
    if (new URL(baseUrl).toString() !== baseUrl) return false;
  } catch {
    return false;
  }
  lastPlainBase = baseUrl;
  return true;
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
