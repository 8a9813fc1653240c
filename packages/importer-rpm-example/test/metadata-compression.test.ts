import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { readDecompressed, type MetadataCompression } from '@tributary/importer-rpm-example';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'tributary-rpm-compression-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** 600 KB that do not compress to nothing: lines with a running hash in them. */
const original = Buffer.from(Array.from({ length: 6000 }, (_, i) => `<line n="${i}">${createHash('sha256').update(String(i)).digest('hex')}</line>\n`).join(''));

describe('decompressed metadata reaches the parser', () => {
  test.each([
    ['gzip', (bytes: Buffer) => gzipSync(bytes)],
    ['zstd', (bytes: Buffer) => execFileSync('zstd', ['-q', '-c', '-19'], { input: bytes, maxBuffer: 1 << 26 })],
    ['none', (bytes: Buffer) => bytes],
  ] as [MetadataCompression, (bytes: Buffer) => Buffer][])('%s: whole, in order, in pieces of at most 64 KiB, the first of at most 16 KiB', async (compression, compress) => {
    const file = path.join(work, `data.${compression}`);
    await writeFile(file, compress(original));
    const pieces: Buffer[] = [];
    for await (const piece of readDecompressed(file, { source: file, compression, maxBytes: 1 << 30, expectedSize: original.length })) pieces.push(piece);
    expect(Buffer.concat(pieces).equals(original)).toBe(true);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThanOrEqual(64 * 1024);
    // the parser has the first packages to pass on after a quarter of a piece
    expect(pieces[0]!.length).toBeGreaterThan(0);
    expect(pieces[0]!.length).toBeLessThanOrEqual(16 * 1024);
    expect(pieces.length).toBeGreaterThanOrEqual(Math.ceil(original.length / (64 * 1024)));
  });
});
