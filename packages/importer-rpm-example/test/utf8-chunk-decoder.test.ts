import { Utf8ChunkDecoder } from '../src/xml/utf8-chunk-decoder.js';

const TEXT = 'ascii, é (2 bytes), € (3 bytes), 😀 (4 bytes), 漢字, and the end';

function decodeInChunks(bytes: Buffer, size: number): string {
  const decoder = new Utf8ChunkDecoder();
  let out = '';
  for (let i = 0; i < bytes.length; i += size) out += decoder.decode(bytes.subarray(i, i + size));
  decoder.end();
  return out;
}

describe('strict UTF-8 decoding in chunks', () => {
  test('multi-byte characters cut by any chunk boundary decode whole', () => {
    const bytes = Buffer.from(TEXT);
    for (let size = 1; size <= 9; size++) expect(decodeInChunks(bytes, size)).toBe(TEXT);
  });

  test('a leading byte-order mark is dropped, a later U+FEFF is kept', () => {
    expect(decodeInChunks(Buffer.from('\uFEFF<a>\uFEFF</a>'), 2)).toBe('<a>\uFEFF</a>');
  });

  test.each([
    ['a lone continuation byte', Buffer.from([0x61, 0x80, 0x62])],
    ['a Latin-1 é', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x3c])],
    ['an overlong encoding', Buffer.from([0xc0, 0xaf])],
    ['a UTF-16 surrogate', Buffer.from([0xed, 0xa0, 0x80])],
    ['a stream ending inside a sequence', Buffer.from([0x61, 0xe2, 0x82])],
  ])('%s is refused', (_what, bytes) => {
    for (const size of [1, 2, bytes.length]) expect(() => decodeInChunks(bytes, size)).toThrow();
  });
});
