/** The longest relative path of a unit's file the host accepts, in UTF-16 code units. */
export const MAX_RELATIVE_PATH_LENGTH = 4096;
/** The longest segment of such a path, in UTF-8 bytes (what file systems allow). */
export const MAX_PATH_SEGMENT_BYTES = 255;

const SLASH = 0x2f;
const DOT = 0x2e;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/**
 * True only for a relative path every one of the host's path checks accepts, decided in one pass:
 * not empty nor longer than {@link MAX_RELATIVE_PATH_LENGTH}, no control character or backslash,
 * no drive letter, and segments that are neither empty (which covers a leading `/`) nor `.` or `..`
 * nor longer than {@link MAX_PATH_SEGMENT_BYTES}. False says only "look closer": the host's own
 * checks then name the problem (or accept what this fast test does not cover).
 */
export function isPlainRelativePath(relativePath: string): boolean {
  const length = relativePath.length;
  if (length === 0 || length > MAX_RELATIVE_PATH_LENGTH) return false;
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
      if (segmentLength * 3 > MAX_PATH_SEGMENT_BYTES && Buffer.byteLength(relativePath.slice(segmentStart, i)) > MAX_PATH_SEGMENT_BYTES) {
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
