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
 */
export function locationUrl(href: string, xmlBase: string | undefined, baseUrl: string, where: string): string {
  try {
    const base = xmlBase ? new URL(xmlBase.endsWith('/') ? xmlBase : `${xmlBase}/`, baseUrl).toString() : baseUrl;
    return new URL(href, base).toString();
  } catch (error) {
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

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
