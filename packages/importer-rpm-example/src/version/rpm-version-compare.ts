/**
 * rpm's version comparison, as rpm itself does it: `rpmvercmp` (rpmio/rpmvercmp.c) for one
 * version or release string, `rpmverCmp` (rpmio/rpmver.c) for epoch, version and release.
 * The test compares both with Debian's rpm on a table of real version pairs.
 */

/** An epoch-version-release. A missing or empty epoch is `0`; a missing release is older than any release. */
export interface Evr {
  readonly epoch?: string | undefined;
  readonly version: string;
  readonly release?: string | undefined;
}

const END = -1;
const TILDE = 0x7e;
const CARET = 0x5e;
const ZERO = 0x30;

/** rpm's own ctype (rpmstring.h): ASCII only, whatever the locale. */
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAlpha(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

/**
 * Compares two version (or release) strings the way rpm does: 1 when `a` is newer, -1 when `b` is,
 * 0 when rpm sees them as the same version.
 *
 * The strings are cut into segments of ASCII digits or ASCII letters; everything else separates
 * segments (and a run of separators counts as one, so `2.0` and `2_0` are equal). Segments compare
 * pairwise: numbers numerically (leading zeros ignored, so `10.0001` equals `10.1`, and any length),
 * letters by byte order, and a number is newer than letters. `~` sorts before anything, even the
 * end of the string (`1.0~rc1` < `1.0`); `^` sorts after the end but before anything else
 * (`1.0` < `1.0^git1` < `1.0.1`). When all segments were equal, the string with something left over
 * is newer.
 *
 * Characters outside ASCII are separators, as each byte of their UTF-8 form is to rpm; like a C
 * string, a string ends at a NUL.
 *
 * @example
 * ```ts
 * rpmvercmp('1.0~rc1', '1.0'); // -1
 * rpmvercmp('2.0.1', '2.0.1.0'); // -1
 * rpmvercmp('1.0a', '1.0'); // 1
 * ```
 */
export function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  a = beforeNul(a);
  b = beforeNul(b);
  if (a === b) return 0;
  const aLength = a.length;
  const bLength = b.length;
  let one = 0;
  let two = 0;
  while (one < aLength || two < bLength) {
    while (one < aLength && isSeparator(a.charCodeAt(one))) one++;
    while (two < bLength && isSeparator(b.charCodeAt(two))) two++;
    const c1 = one < aLength ? a.charCodeAt(one) : END;
    const c2 = two < bLength ? b.charCodeAt(two) : END;

    // `~` sorts before everything else, the end of the string included
    if (c1 === TILDE || c2 === TILDE) {
      if (c1 !== TILDE) return 1;
      if (c2 !== TILDE) return -1;
      one++;
      two++;
      continue;
    }
    // `^` likewise, except that the string that ended (the base version) is the older one
    if (c1 === CARET || c2 === CARET) {
      if (c1 === END) return -1;
      if (c2 === END) return 1;
      if (c1 !== CARET) return 1;
      if (c2 !== CARET) return -1;
      one++;
      two++;
      continue;
    }
    if (c1 === END || c2 === END) break;

    // the segment is of the kind `a`'s starts with; `b`'s may be empty (the other kind)
    let end1 = one;
    let end2 = two;
    const numeric = isDigit(c1);
    if (numeric) {
      while (end1 < aLength && isDigit(a.charCodeAt(end1))) end1++;
      while (end2 < bLength && isDigit(b.charCodeAt(end2))) end2++;
    } else {
      while (end1 < aLength && isAlpha(a.charCodeAt(end1))) end1++;
      while (end2 < bLength && isAlpha(b.charCodeAt(end2))) end2++;
    }
    // numbers are newer than letters
    if (two === end2) return numeric ? 1 : -1;

    if (numeric) {
      while (one < end1 && a.charCodeAt(one) === ZERO) one++;
      while (two < end2 && b.charCodeAt(two) === ZERO) two++;
      // the longer number is the larger
      if (end1 - one > end2 - two) return 1;
      if (end2 - two > end1 - one) return -1;
    }
    const rc = compareSegments(a, one, end1, b, two, end2);
    if (rc !== 0) return rc;
    one = end1;
    two = end2;
  }
  // all segments equal, the separators maybe not: what is left over wins
  if (one >= aLength && two >= bLength) return 0;
  return one >= aLength ? -1 : 1;
}

/**
 * Compares two EVRs the way rpm does (`rpmverCmp`): epochs first (as rpmvercmp compares them, so
 * numerically; missing or empty is `0`), then versions, then releases (a missing release is older
 * than any). 1 when `a` is newer, -1 when `b` is, 0 when they are the same to rpm.
 *
 * @example
 * ```ts
 * compareEvr({ epoch: '1', version: '1.0', release: '1' }, { version: '2.0', release: '1' }); // 1
 * ```
 */
export function compareEvr(a: Evr, b: Evr): -1 | 0 | 1 {
  const byEpoch = rpmvercmp(a.epoch || '0', b.epoch || '0');
  if (byEpoch !== 0) return byEpoch;
  const byVersion = rpmvercmp(a.version, b.version);
  if (byVersion !== 0) return byVersion;
  if (a.release === undefined || b.release === undefined) {
    if (a.release === b.release) return 0;
    return a.release === undefined ? -1 : 1;
  }
  return rpmvercmp(a.release, b.release);
}

/**
 * `[epoch:]version[-release]` split as rpm splits it (`parseEVR`): an epoch only when the string
 * starts with digits followed by `:` (an empty one is `0`), the release after the last `-`.
 */
export function parseEvr(text: string): Evr {
  let at = 0;
  while (at < text.length && isDigit(text.charCodeAt(at))) at++;
  const hasEpoch = text.charCodeAt(at) === 0x3a;
  const epoch = hasEpoch ? text.slice(0, at) || '0' : undefined;
  const rest = hasEpoch ? text.slice(at + 1) : text;
  const dash = rest.lastIndexOf('-');
  const version = dash === -1 ? rest : rest.slice(0, dash);
  const release = dash === -1 ? undefined : rest.slice(dash + 1);
  return { ...(epoch !== undefined ? { epoch } : {}), version, ...(release !== undefined ? { release } : {}) };
}

function isSeparator(c: number): boolean {
  return !isDigit(c) && !isAlpha(c) && c !== TILDE && c !== CARET;
}

/** strcmp of two segments: byte order (they are ASCII), and a prefix sorts first. */
function compareSegments(a: string, from1: number, end1: number, b: string, from2: number, end2: number): -1 | 0 | 1 {
  const length1 = end1 - from1;
  const length2 = end2 - from2;
  const common = Math.min(length1, length2);
  for (let i = 0; i < common; i++) {
    const c1 = a.charCodeAt(from1 + i);
    const c2 = b.charCodeAt(from2 + i);
    if (c1 !== c2) return c1 < c2 ? -1 : 1;
  }
  if (length1 === length2) return 0;
  return length1 < length2 ? -1 : 1;
}

function beforeNul(text: string): string {
  const nul = text.indexOf('\0');
  return nul === -1 ? text : text.slice(0, nul);
}
