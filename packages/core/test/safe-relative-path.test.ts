import { ErrorCodes, isTributaryError } from '@tributary/plugin-api';
import { safeRelativePath } from '../src/storage/safe-relative-path';

/** The rules of safeRelativePath written plainly: the reason it refuses a path, or undefined. */
function expectedRefusal(p: string): string | undefined {
  if (p.length === 0) return 'it is empty';
  if (p.length > 4096) return 'it is longer than 4096 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'it contains a NUL or control character';
  if (p.includes('\\')) return 'it contains a backslash';
  if (p.startsWith('/')) return 'it is absolute';
  if (/^[A-Za-z]:/.test(p)) return 'it starts with a drive letter';
  for (const segment of p.split('/')) {
    if (segment === '') return 'it has an empty segment';
    if (segment === '..') return "it has a '..' segment";
    if (segment === '.') return "it has a '.' segment";
    if (Buffer.byteLength(segment) > 255) return 'a segment is longer than 255 bytes';
  }
  return undefined;
}

function refusal(p: unknown): string | undefined {
  try {
    expect(safeRelativePath(p, 'test path')).toBe(p);
    return undefined;
  } catch (error) {
    if (!isTributaryError(error, ErrorCodes.PATH_UNSAFE)) throw error;
    return (error.details as { reason: string }).reason;
  }
}

describe('safeRelativePath', () => {
  it('accepts ordinary repository paths unchanged', () => {
    for (const p of ['a', 'Packages/a/abc-1.0.rpm', 'dir0/file-0.bin', '.hidden/..x/x..', 'ab:c', '1:/x', 'ünï/cödé', 'x'.repeat(255)]) {
      expect(refusal(p)).toBeUndefined();
    }
  });

  it('refuses each kind of unsafe path with its reason', () => {
    const cases: [unknown, string][] = [
      [42, 'it is not a string'],
      ['', 'it is empty'],
      ['a/'.repeat(2049), 'it is longer than 4096 characters'],
      ['a\u0000b', 'it contains a NUL or control character'],
      ['a/b\u007f', 'it contains a NUL or control character'],
      ['a\\b', 'it contains a backslash'],
      ['/etc/passwd', 'it is absolute'],
      ['C:/x', 'it starts with a drive letter'],
      ['z:x', 'it starts with a drive letter'],
      ['a//b', 'it has an empty segment'],
      ['a/', 'it has an empty segment'],
      ['a/../b', "it has a '..' segment"],
      ['./a', "it has a '.' segment"],
      ['a/.', "it has a '.' segment"],
      ['ü'.repeat(128), 'a segment is longer than 255 bytes'],
      ['a/' + 'x'.repeat(256), 'a segment is longer than 255 bytes'],
    ];
    for (const [p, reason] of cases) expect([p, refusal(p)]).toEqual([p, reason]);
  });

  it('agrees with the plainly written rules on random paths built from the characters that matter', () => {
    const alphabet = ['a', 'B', '.', '/', '\\', ':', '\u0000', '\u001f', '\u007f', ' ', 'é', '\u{1F600}', 'z'];
    let seed = 12345;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let i = 0; i < 20000; i++) {
      let p = '';
      const length = random(8);
      for (let j = 0; j < length; j++) p += alphabet[random(alphabet.length)];
      expect([p, refusal(p)]).toEqual([p, expectedRefusal(p)]);
    }
  });
});
