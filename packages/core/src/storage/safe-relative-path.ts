import path from 'node:path';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';

const MAX_PATH_LENGTH = 4096;
const MAX_SEGMENT_LENGTH = 255;
const SLASH = 0x2f;
const DOT = 0x2e;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/**
 * Validates a repository-relative path (`Packages/a/abc.rpm`) and returns it normalised to forward
 * slashes. Refuses, with TRIBUTARY_ERR_PATH_UNSAFE, anything that could name a file outside the
 * directory it is joined to: absolute paths, drive letters, `..` or `.` segments, empty segments,
 * backslashes, NUL and other control characters, and overlong paths.
 */
export function safeRelativePath(relativePath: unknown, what = 'path'): string {
  // every unit of a sync passes here: a path that is plainly fine is accepted in one pass over its
  // characters, and only a suspect one goes through the checks below, which name what is wrong
  if (typeof relativePath === 'string' && isPlainSafePath(relativePath)) return relativePath;
  return checkedRelativePath(relativePath, what);
}

function checkedRelativePath(relativePath: unknown, what: string): string {
  const refuse = (reason: string): never => {
    throw new TributaryError(ErrorCodes.PATH_UNSAFE, `${what} ${JSON.stringify(relativePath)} is refused: ${reason}`, {
      details: { path: typeof relativePath === 'string' ? relativePath.slice(0, 512) : String(relativePath), reason },
    });
  };
  if (typeof relativePath !== 'string') return refuse('it is not a string');
  if (relativePath.length === 0) return refuse('it is empty');
  if (relativePath.length > MAX_PATH_LENGTH) return refuse(`it is longer than ${MAX_PATH_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(relativePath)) return refuse('it contains a NUL or control character');
  if (relativePath.includes('\\')) return refuse('it contains a backslash');
  if (relativePath.startsWith('/')) return refuse('it is absolute');
  if (/^[A-Za-z]:/.test(relativePath)) return refuse('it starts with a drive letter');
  const segments = relativePath.split('/');
  for (const segment of segments) {
    if (segment === '') return refuse('it has an empty segment');
    if (segment === '..') return refuse("it has a '..' segment");
    if (segment === '.') return refuse("it has a '.' segment");
    if (Buffer.byteLength(segment) > MAX_SEGMENT_LENGTH) return refuse(`a segment is longer than ${MAX_SEGMENT_LENGTH} bytes`);
  }
  return relativePath;
}

/**
 * True only for a path that every check of {@link checkedRelativePath} accepts: not empty nor
 * overlong, no control character or backslash, no drive letter, and segments that are neither
 * empty (which covers a leading `/`) nor `.` or `..` nor longer than the segment limit.
 */
function isPlainSafePath(relativePath: string): boolean {
  const length = relativePath.length;
  if (length === 0 || length > MAX_PATH_LENGTH) return false;
  let segmentStart = 0;
  for (let i = 0; i <= length; i++) {
    const code = i < length ? relativePath.charCodeAt(i) : SLASH;
    if (code === SLASH) {
      const segmentLength = i - segmentStart;
      if (segmentLength === 0) return false;
      if (relativePath.charCodeAt(segmentStart) === DOT) {
        if (segmentLength === 1 || (segmentLength === 2 && relativePath.charCodeAt(segmentStart + 1) === DOT)) return false;
      }
      // a UTF-16 code unit is at most 3 UTF-8 bytes, so only long segments need counting
      if (segmentLength * 3 > MAX_SEGMENT_LENGTH && Buffer.byteLength(relativePath.slice(segmentStart, i)) > MAX_SEGMENT_LENGTH) {
        return false;
      }
      segmentStart = i + 1;
    } else if (code < 0x20 || code === 0x7f || code === BACKSLASH) {
      return false;
    }
  }
  const first = relativePath.charCodeAt(0) | 0x20; // lower-cased if a letter
  return !(relativePath.charCodeAt(1) === COLON && first >= 0x61 && first <= 0x7a);
}

/**
 * Joins a validated relative path under `root` and checks the result is still inside it — a second
 * line of defence after {@link safeRelativePath}.
 */
export function resolveInside(root: string, relativePath: string, what = 'path'): string {
  const safe = safeRelativePath(relativePath, what);
  const absoluteRoot = path.resolve(root);
  const target = path.resolve(absoluteRoot, safe);
  if (target !== absoluteRoot && !target.startsWith(absoluteRoot + path.sep)) {
    throw new TributaryError(ErrorCodes.PATH_UNSAFE, `${what} ${JSON.stringify(relativePath)} resolves outside ${absoluteRoot}`);
  }
  return target;
}
