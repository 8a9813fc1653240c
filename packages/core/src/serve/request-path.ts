import { isPlainRelativePath, MAX_RELATIVE_PATH_LENGTH } from '@tributary/plugin-api';

export const CONTENT_PREFIX = '/content/';

/** A request path taken apart: decoded segments after `/content/`, and whether it ended in `/`. */
export interface ContentPath {
  readonly segments: readonly string[];
  readonly directory: boolean;
}

export type ParsedPath = { readonly ok: true; readonly path: ContentPath } | { readonly ok: false; readonly status: 400 | 404 | 414; readonly reason: string };

/**
 * Decodes the path of a request url under `/content/` strictly, before anything looks it up:
 * percent-escapes are decoded per segment (so `%2F` cannot make a new segment), and a segment
 * that decodes to `.` or `..`, holds a NUL, control character or backslash, or an empty segment
 * inside the path is a 400. Longer than the longest relative path a unit may have: 414.
 */
export function parseContentPath(rawUrl: string): ParsedPath {
  const query = rawUrl.indexOf('?');
  const pathname = query >= 0 ? rawUrl.slice(0, query) : rawUrl;
  if (pathname.length > MAX_RELATIVE_PATH_LENGTH * 3 + 1024) return { ok: false, status: 414, reason: 'path too long' };
  // not a directory: answered with a redirect to /content/, so the listing's relative links resolve under it
  if (pathname === '/content') return { ok: true, path: { segments: [], directory: false } };
  if (!pathname.startsWith(CONTENT_PREFIX)) return { ok: false, status: 404, reason: 'not under /content/' };
  const rest = pathname.slice(CONTENT_PREFIX.length);
  const directory = rest.length === 0 || rest.endsWith('/');
  const raw = rest.length === 0 ? [] : (directory ? rest.slice(0, -1) : rest).split('/');
  const segments: string[] = [];
  for (const part of raw) {
    let segment: string;
    try {
      segment = decodeURIComponent(part);
    } catch {
      return { ok: false, status: 400, reason: 'malformed percent-encoding' };
    }
    if (segment.length === 0) return { ok: false, status: 400, reason: 'empty path segment' };
    if (segment === '.' || segment === '..') return { ok: false, status: 400, reason: `'${segment}' segment` };
    if (segment.includes('/')) return { ok: false, status: 400, reason: 'encoded slash in a segment' };
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f\\]/.test(segment)) return { ok: false, status: 400, reason: 'NUL, control character or backslash' };
    segments.push(segment);
  }
  const joined = segments.join('/');
  if (joined.length > MAX_RELATIVE_PATH_LENGTH) return { ok: false, status: 414, reason: 'path too long' };
  if (joined.length > 0 && !isPlainRelativePath(joined)) return { ok: false, status: 400, reason: 'not a plain relative path' };
  return { ok: true, path: { segments, directory } };
}

/** Percent-encodes a relative path for a link, segment by segment. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
