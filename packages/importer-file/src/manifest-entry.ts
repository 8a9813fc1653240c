import {
  ErrorCodes,
  isPlainRelativePath,
  MAX_PATH_SEGMENT_BYTES as MAX_SEGMENT_BYTES,
  MAX_RELATIVE_PATH_LENGTH as MAX_PATH_LENGTH,
  TributaryError,
} from '@tributary/plugin-api';

/** One file a PULP_MANIFEST lists. */
export interface ManifestEntry {
  /** Path relative to the manifest's directory, validated (no `..`, not absolute, …). */
  readonly relativePath: string;
  /** Lower-case hex sha256 of the file. */
  readonly sha256: string;
  readonly size: number;
  /** 1-based line of the manifest the entry came from. */
  readonly line: number;
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
const HASH = 0x23;

/** A blank line or a `#` comment: a manifest line that lists no file. */
export function isBlankOrComment(text: string): boolean {
  const first = text.charCodeAt(0);
  if (first === HASH || text.length === 0) return true;
  // only a line that starts with white space can be blank
  return (first <= 0x20 || first >= 0x7f) && text.trim() === '';
}

/** A MANIFEST_INVALID error naming where in the manifest and what is wrong. */
export function manifestInvalid(source: string, line: number, problem: string): TributaryError {
  return new TributaryError(ErrorCodes.MANIFEST_INVALID, `${source} line ${line}: ${problem}`, {
    details: { manifest: source, line, problem },
  });
}

/**
 * Parses one manifest line: `relative_path,sha256,size`, split from the right because the path may
 * itself contain commas. Returns undefined for blank lines and `#` comments; throws
 * TRIBUTARY_ERR_MANIFEST_INVALID naming the line for anything else that does not fit.
 */
export function parseManifestLine(text: string, line: number, source = 'PULP_MANIFEST'): ManifestEntry | undefined {
  if (isBlankOrComment(text)) return undefined;
  const sizeComma = text.lastIndexOf(',');
  const digestComma = sizeComma > 0 ? text.lastIndexOf(',', sizeComma - 1) : -1;
  if (digestComma >= 0) {
    // every line of a manifest passes here, twice: the common shape is checked in single passes,
    // and anything else goes through the checks below, which name what is wrong
    const relativePath = text.slice(0, digestComma);
    const digest = text.slice(digestComma + 1, sizeComma);
    const size = plainSize(text, sizeComma + 1);
    if (size >= 0 && isPlainRelativePath(relativePath) && SHA256_HEX.test(digest)) {
      return { relativePath, sha256: digest.toLowerCase(), size, line };
    }
  }
  return parseUncommonLine(text, line, source);
}

function parseUncommonLine(text: string, line: number, source: string): ManifestEntry {
  const fail = (problem: string): never => {
    throw manifestInvalid(source, line, problem);
  };
  const sizeComma = text.lastIndexOf(',');
  const digestComma = sizeComma > 0 ? text.lastIndexOf(',', sizeComma - 1) : -1;
  if (digestComma < 0) {
    const columns = sizeComma < 0 ? 1 : 2;
    return fail(`expected 3 comma-separated columns (relative_path,sha256,size), found ${columns}`);
  }
  const relativePath = text.slice(0, digestComma);
  const digest = text.slice(digestComma + 1, sizeComma).trim();
  const sizeText = text.slice(sizeComma + 1).trim();

  checkRelativePath(relativePath, fail);
  if (!SHA256_HEX.test(digest)) {
    if (digest.length !== 64) fail(`the sha256 ${quote(digest)} has ${digest.length} characters, a sha256 has 64 hex digits`);
    fail(`the sha256 ${quote(digest)} contains characters that are not hex digits`);
  }
  return { relativePath, sha256: digest.toLowerCase(), size: parseSize(sizeText, fail), line };
}

/** The size that `text` ends with from `start`: 1 to 15 digits and nothing else; else -1. */
function plainSize(text: string, start: number): number {
  const digits = text.length - start;
  if (digits < 1 || digits > 15) return -1;
  let size = 0;
  for (let i = start; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    size = size * 10 + digit;
  }
  return size;
}

function parseSize(text: string, fail: (problem: string) => never): number {
  if (/^-\s*\d+$/.test(text)) return fail(`the size ${quote(text)} is negative`);
  if (!/^\d+$/.test(text)) return fail(`the size ${quote(text)} is not a non-negative integer`);
  const size = Number(text);
  if (!Number.isSafeInteger(size)) return fail(`the size ${quote(text)} is too large`);
  return size;
}

function checkRelativePath(relativePath: string, fail: (problem: string) => never): void {
  if (relativePath === '') fail('the relative path is empty');
  if (relativePath.includes('\0')) fail(`the relative path ${quote(relativePath)} contains a NUL byte`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0001-\u001f\u007f]/.test(relativePath)) fail(`the relative path ${quote(relativePath)} contains a control character`);
  if (relativePath.length > MAX_PATH_LENGTH) fail(`the relative path is longer than ${MAX_PATH_LENGTH} characters`);
  if (relativePath.startsWith('/')) fail(`the relative path ${quote(relativePath)} is absolute`);
  if (/^[A-Za-z]:/.test(relativePath)) fail(`the relative path ${quote(relativePath)} starts with a drive letter`);
  if (relativePath.includes('\\')) fail(`the relative path ${quote(relativePath)} contains a backslash`);
  for (let start = 0; start <= relativePath.length; ) {
    const slash = relativePath.indexOf('/', start);
    const end = slash < 0 ? relativePath.length : slash;
    const length = end - start;
    if (length === 0) fail(`the relative path ${quote(relativePath)} has an empty segment`);
    if (length === 2 && relativePath.startsWith('..', start)) fail(`the relative path ${quote(relativePath)} has a '..' segment`);
    if (length === 1 && relativePath[start] === '.') fail(`the relative path ${quote(relativePath)} has a '.' segment`);
    // a UTF-16 code unit is at most 3 UTF-8 bytes, so only long segments need counting
    if (length * 3 > MAX_SEGMENT_BYTES && Buffer.byteLength(relativePath.slice(start, end)) > MAX_SEGMENT_BYTES) {
      fail(`a segment of the relative path is longer than ${MAX_SEGMENT_BYTES} bytes`);
    }
    start = end + 1;
  }
}

/** Quotes a value for a message, escaping control characters and keeping it short. */
function quote(value: string): string {
  const shown = value.length > 120 ? `${value.slice(0, 117)}...` : value;
  return JSON.stringify(shown);
}
