import { ErrorCodes, isTributaryError } from '@tributary/plugin-api';
import { parseManifestLine, type ManifestEntry } from '@tributary/importer-file';

/** The acceptance rules of a manifest line written plainly: the entry it gives, or undefined if refused. */
function expectedEntry(text: string, line: number): ManifestEntry | undefined {
  const sizeComma = text.lastIndexOf(',');
  const digestComma = sizeComma > 0 ? text.lastIndexOf(',', sizeComma - 1) : -1;
  if (digestComma < 0) return undefined;
  const relativePath = text.slice(0, digestComma);
  const digest = text.slice(digestComma + 1, sizeComma).trim();
  const sizeText = text.slice(sizeComma + 1).trim();
  if (relativePath === '' || relativePath.length > 4096 || relativePath.startsWith('/') || relativePath.includes('\\')) return undefined;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(relativePath) || /^[A-Za-z]:/.test(relativePath)) return undefined;
  if (relativePath.split('/').some((s) => s === '' || s === '.' || s === '..' || Buffer.byteLength(s) > 255)) return undefined;
  if (!/^[0-9a-fA-F]{64}$/.test(digest) || !/^\d+$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) return undefined;
  return { relativePath, sha256: digest.toLowerCase(), size: Number(sizeText), line };
}

function parsed(text: string): ManifestEntry | undefined | 'blank' {
  try {
    return parseManifestLine(text, 7, 'M') ?? 'blank';
  } catch (error) {
    if (!isTributaryError(error, ErrorCodes.MANIFEST_INVALID)) throw error;
    expect(error.message.startsWith('M line 7: ')).toBe(true);
    return undefined;
  }
}

describe('parseManifestLine', () => {
  const hex = 'aB3'.repeat(21) + 'f';

  it('skips blank lines and comments only', () => {
    for (const text of ['', '   ', '\t', '\u00a0 \u3000', '#', '# x,y,z', `#a,${hex},1`]) expect([text, parsed(text)]).toEqual([text, 'blank']);
    expect(parsed(` a,${hex},1`)).toEqual({ relativePath: ' a', sha256: hex.toLowerCase(), size: 1, line: 7 });
  });

  it('accepts exactly the lines the rules accept, with the same entry', () => {
    const pieces = ['a', 'b/c', '/', '.', '..', '\\', 'C:', ' ', ',', '\u0001', 'é', '-', '0', '9', '007', '1'.repeat(16), '9007199254740993', hex, hex.slice(1), 'g'];
    let seed = 7;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let i = 0; i < 20000; i++) {
      const column = (): string => Array.from({ length: 1 + random(3) }, () => pieces[random(pieces.length)]).join('');
      // mostly well-formed lines with one column varied, so acceptance is common enough to test
      const path = random(3) === 0 ? column() : 'dir/file.bin';
      const digest = random(3) === 0 ? column() : random(2) === 0 ? hex : ` ${hex} `;
      const size = random(3) === 0 ? column() : String(random(100000));
      const text = `${path},${digest},${size}`;
      if (text.trim() === '' || text.startsWith('#')) continue;
      expect([text, parsed(text)]).toEqual([text, expectedEntry(text, 7)]);
    }
  });
});
