import path from 'node:path';
import {
  ErrorCodes,
  isPlainRelativePath,
  MAX_PATH_SEGMENT_BYTES as MAX_SEGMENT_LENGTH,
  MAX_RELATIVE_PATH_LENGTH as MAX_PATH_LENGTH,
  TributaryError,
} from '@tributary/plugin-api';

/**
 * Validates a repository-relative path (`Packages/a/abc.rpm`) and returns it normalised to forward
 * slashes. Refuses, with TRIBUTARY_ERR_PATH_UNSAFE, anything that could name a file outside the
 * directory it is joined to: absolute paths, drive letters, `..` or `.` segments, empty segments,
 * backslashes, NUL and other control characters, and overlong paths.
 */
export function safeRelativePath(relativePath: unknown, what = 'path'): string {
  // every unit of a sync passes here: a path that is plainly fine is accepted in one pass over its
  // characters, and only a suspect one goes through the checks below, which name what is wrong
  if (typeof relativePath === 'string' && isPlainRelativePath(relativePath)) return relativePath;
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
