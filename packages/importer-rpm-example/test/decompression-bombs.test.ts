/**
 * Issue 19 items 3 and 10: every decompressor inflates only as fast as it is read, so a bomb
 * (256 MiB of zeros or spaces made by the CLI tools, a few KB each) is stopped at the limit with
 * the typed error and little memory; a truncated bzip2 file is a typed error that says so.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, isTributaryError, type TributaryError } from '@tributary/plugin-api';
import { readDecompressed, type MetadataCompression } from '@tributary/importer-rpm-example';
import { decompressionStreams } from '../src/compression/metadata-compression.js';
import { BOMB_COMPRESSIONS, bombFile, readBombInChild, type BombCompression, type BombContent } from './bomb-files.js';

const MiB = 1024 * 1024;
const BOMB_MIB = 256;
const LIMIT = 64 * MiB;
/** Generous: the whole of a bomb held at once is 256 MiB, and the old zstd, xz and bzip2 streams held all of it. */
const MAX_RSS_GROWTH = 128 * MiB;

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'tributary-rpm-bomb-test-'));
  // made once per machine (cached): ~20 s of CPU the first time
  for (const { compression } of BOMB_COMPRESSIONS) for (const content of ['zeros', 'spaces'] as const) bombFile(compression, content, BOMB_MIB);
}, 600_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function failure(run: () => Promise<void>): Promise<TributaryError> {
  try {
    await run();
  } catch (error) {
    if (isTributaryError(error)) return error;
    throw error;
  }
  throw new Error('accepted');
}

/**
 * Decompressed bytes a decompressor holds once it has settled, with a reader that never reads:
 * once the first bytes are out (however long a busy machine takes to get there), when nothing
 * changed for ten looks 20 ms apart (or after 500 looks).
 */
async function heldWhileUnread(file: string, compression: MetadataCompression): Promise<number> {
  const streams = decompressionStreams(compression);
  const source = createReadStream(file, { highWaterMark: 256 * 1024 });
  let end: Readable = source;
  for (const stream of streams) end = end.pipe(stream);
  const held = () => end.readableLength;
  try {
    const deadline = Date.now() + 120_000;
    while (held() === 0 && Date.now() < deadline) await sleep(20);
    let previous = -1;
    for (let unchanged = 0, i = 0; unchanged < 10 && i < 500; i++) {
      await sleep(20);
      unchanged = held() === previous ? unchanged + 1 : 0;
      previous = held();
    }
    return held();
  } finally {
    for (const stream of [source, ...streams]) stream.destroy();
  }
}

describe.each(BOMB_COMPRESSIONS.map((c) => c.compression))(`a ${BOMB_MIB} MiB %s bomb`, (compression: BombCompression) => {
  test('inflates only as far as its reader reads', async () => {
    const held = await heldWhileUnread(bombFile(compression, 'zeros', BOMB_MIB), compression);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(16 * MiB);
  });

  test.each(['zeros', 'spaces'] as BombContent[])(`of %s stops at a ${LIMIT / MiB} MiB limit with TRIBUTARY_ERR_DECOMPRESSION_LIMIT, RSS bounded`, (content) => {
    // zeros are no XML (the parser would stop at the first chunk): the bytes alone are read; spaces
    // are XML whitespace, so primary's parser reads on until the limit stops it
    const result = readBombInChild(bombFile(compression, content, BOMB_MIB), compression, content, LIMIT);
    expect(result.code).toBe(ErrorCodes.DECOMPRESSION_LIMIT);
    expect(result.seenBytes).toBeLessThanOrEqual(LIMIT + MiB);
    expect(result.rssGrowth).toBeLessThan(MAX_RSS_GROWTH);
  });
});

describe('zstd windows', () => {
  /** A frame asking for a `2^(10 + exponent)`-byte window, holding one RLE block of 128 KiB. */
  const frame = (exponent: number) => Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, exponent << 3, ...[(((128 * 1024) << 3) | 0b011) & 0xff, ((128 * 1024) << 3) >> 8 & 0xff, ((128 * 1024) << 3) >> 16 & 0xff], 0x20]);

  test('a frame asking for more than 128 MiB of window is refused before any is allocated', async () => {
    const file = path.join(work, 'window.zst');
    await writeFile(file, frame(20)); // 1 GiB
    const error = await failure(async () => {
      for await (const chunk of readDecompressed(file, { source: 'window', compression: 'zstd', maxBytes: LIMIT })) void chunk;
    });
    expect(error.code).toBe(ErrorCodes.DECOMPRESSION_LIMIT);
    expect(error.message).toContain('1073741824-byte window');
  });

  test('a frame within the window limit decodes', async () => {
    const file = path.join(work, 'window-ok.zst');
    await writeFile(file, frame(13)); // 8 MiB
    const chunks: Buffer[] = [];
    for await (const chunk of readDecompressed(file, { source: 'window', compression: 'zstd', maxBytes: LIMIT })) chunks.push(chunk);
    expect(Buffer.concat(chunks).equals(Buffer.alloc(128 * 1024, 0x20))).toBe(true);
  });
});

test('an xz stream asking for a dictionary past 80 MiB is refused as a limit, not allocated', async () => {
  const file = path.join(work, 'dictionary.xz');
  await writeFile(file, execFileSync('sh', ['-c', `head -c 1M /dev/zero | xz --lzma2=preset=0,dict=128MiB`]));
  const error = await failure(async () => {
    for await (const chunk of readDecompressed(file, { source: 'dictionary', compression: 'xz', maxBytes: LIMIT })) void chunk;
  });
  expect(error.code).toBe(ErrorCodes.DECOMPRESSION_LIMIT);
  expect(error.message).toContain('needs more than the 83886080 bytes of memory');
});

describe('truncated bzip2', () => {
  test('is TRIBUTARY_ERR_ENCODING_INVALID saying it is truncated, wherever it is cut', async () => {
    const xml = Buffer.from(Array.from({ length: 4000 }, (_, i) => `<package n="${i}">${(i * 7919).toString(36)}</package>\n`).join(''));
    const whole = execFileSync('bzip2', ['-9'], { input: xml });
    const file = path.join(work, 'cut.bz2');
    for (const length of [4, 10, 50, Math.floor(whole.length / 2), whole.length - 11, whole.length - 1]) {
      await writeFile(file, whole.subarray(0, length));
      const error = await failure(async () => {
        for await (const chunk of readDecompressed(file, { source: 'repodata/cut-primary.xml.bz2', compression: 'bzip2', maxBytes: LIMIT })) void chunk;
      });
      expect(error.code).toBe(ErrorCodes.ENCODING_INVALID);
      expect(error.message).toMatch(/^repodata\/cut-primary\.xml\.bz2 is not valid bzip2 data: .*truncated/);
      expect(error.message).not.toMatch(/TypeError|undefined|Cannot read/);
    }
  });

  test('corrupt bzip2 data is an encoding error naming a CRC or the corruption', async () => {
    const whole = execFileSync('bzip2', ['-9'], { input: Buffer.from('<metadata/>\n'.repeat(5000)) });
    const corrupt = Buffer.from(whole);
    corrupt[Math.floor(corrupt.length / 2)]! ^= 0x10;
    const file = path.join(work, 'corrupt.bz2');
    await writeFile(file, corrupt);
    const error = await failure(async () => {
      for await (const chunk of readDecompressed(file, { source: 'corrupt', compression: 'bzip2', maxBytes: LIMIT })) void chunk;
    });
    expect(error.code).toBe(ErrorCodes.ENCODING_INVALID);
    expect(error.message).toMatch(/corrupt|CRC/);
  });
});

describe('files of several members decompress whole, in any read chunking', () => {
  const parts = [Buffer.from('<a>first</a>\n'.repeat(3000)), Buffer.from('second\n'), Buffer.alloc(300_000, 0x41)];
  const expected = Buffer.concat(parts);

  test.each([
    ['bzip2', 'bzip2', ['-9']],
    ['xz', 'xz', ['-0']],
    ['zstd', 'zstd', ['-q', '-3']],
  ] as [MetadataCompression, string, string[]][])('%s: concatenated streams', async (compression, tool, args) => {
    const members = parts.map((part) => execFileSync(tool, [...args, '-c'], { input: part }));
    // zstd also gets a skippable frame between its frames
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const bytes = compression === 'zstd' ? Buffer.concat([members[0]!, skippable, members[1]!, members[2]!]) : Buffer.concat(members);
    const file = path.join(work, `members.${compression}`);
    await writeFile(file, bytes);
    for (const chunkSize of [1000, 1023, 1025, 4096, 256 * 1024]) {
      const chunks: Buffer[] = [];
      for await (const chunk of readDecompressed(file, { source: file, compression, maxBytes: LIMIT, chunkSize })) chunks.push(chunk);
      expect(Buffer.concat(chunks).equals(expected)).toBe(true);
    }
    expect((await readFile(file)).length).toBe(bytes.length);
  });
});
