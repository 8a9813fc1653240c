import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { PassThrough, pipeline, type Duplex, type Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { createDecompressor as createXzDecompressor } from 'lzma-native';
import unbzip2Stream from 'unbzip2-stream';
import { ErrorCodes, isTributaryError, TributaryError } from '@tributary/plugin-api';
import { DecompressedSizeLimit } from './decompressed-size-limit.js';
import { ZstdDecompressStream } from './zstd-decompress-stream.js';

/** Compressions yum metadata comes in. */
export type MetadataCompression = 'gzip' | 'xz' | 'bzip2' | 'zstd' | 'none';

const MAGIC: ReadonlyArray<readonly [MetadataCompression, readonly number[]]> = [
  ['gzip', [0x1f, 0x8b]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['bzip2', [0x42, 0x5a, 0x68]], // "BZh"
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
];

const EXTENSIONS: ReadonlyArray<readonly [string, MetadataCompression | 'unsupported']> = [
  ['.gz', 'gzip'],
  ['.xz', 'xz'],
  ['.bz2', 'bzip2'],
  ['.zst', 'zstd'],
  ['.zstd', 'zstd'],
  ['.xml', 'none'],
  ['.zck', 'unsupported'],
  ['.lz4', 'unsupported'],
  ['.lzma', 'unsupported'],
];

/**
 * Decompressed chunk size: what gunzip writes, and what readDecompressed cuts every decompressor's
 * chunks to. Below V8's large-object size (128 KiB), so the string each chunk decodes
 * to is an ordinary young object that the next scavenge frees; a larger one lives in the
 * large-object space, is promoted whenever a scavenge finds it still being parsed, and then waits
 * for a full collection (256 KiB chunks cost a 100,000-package sync about 40 MiB more peak RSS).
 * Per-chunk costs are small beside parsing 64 KiB.
 */
const OUTPUT_CHUNK = 64 * 1024;

/** xz dictionaries beyond this are refused rather than allocated (xz -9 needs 64 MiB). */
const XZ_MEMLIMIT = 256 * 1024 * 1024;

/**
 * Which compression a metadata file uses, from its first bytes, cross-checked with its name: both
 * must agree when the name has a known extension. Anything else (zchunk, lz4, garbage) is
 * TRIBUTARY_ERR_COMPRESSION_UNSUPPORTED naming what was found.
 */
export async function detectCompression(file: string, name: string): Promise<MetadataCompression> {
  const handle = await open(file, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(16);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const byMagic = MAGIC.find(([, magic]) => magic.every((byte, i) => head[i] === byte))?.[0] ?? (looksLikeXml(head) ? 'none' : undefined);
  const lowerName = name.toLowerCase();
  const byName = EXTENSIONS.find(([extension]) => lowerName.endsWith(extension))?.[1];
  const refuse = (reason: string): never => {
    throw new TributaryError(ErrorCodes.COMPRESSION_UNSUPPORTED, `metadata file ${name}: ${reason}; supported are gzip, xz, bzip2, zstd and uncompressed XML`, {
      details: { name, magic: head.subarray(0, 8).toString('hex'), byName },
    });
  };
  if (byName === 'unsupported') return refuse(`its extension names a compression Tributary does not read`);
  if (!byMagic) return refuse(`its first bytes (${head.subarray(0, 8).toString('hex')}) are no known compression nor XML`);
  if (byName !== undefined && byName !== byMagic) return refuse(`its name says ${byName} but its bytes are ${byMagic}`);
  return byMagic;
}

function looksLikeXml(head: Buffer): boolean {
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0; // UTF-8 BOM
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++;
  return head[i] === 0x3c; // '<'
}

function createDecompressor(compression: MetadataCompression): Duplex | Transform {
  switch (compression) {
    case 'gzip':
      return createGunzip({ chunkSize: OUTPUT_CHUNK });
    case 'xz':
      return createXzDecompressor({ memlimit: XZ_MEMLIMIT });
    case 'bzip2':
      return unbzip2Stream() as unknown as Duplex;
    case 'zstd':
      return new ZstdDecompressStream();
    case 'none':
      return new PassThrough();
  }
}

export interface DecompressOptions {
  /** What is being read, for messages. */
  readonly source: string;
  readonly compression: MetadataCompression;
  /** repomd.xml's `open-size`, when it declares one. */
  readonly expectedSize?: number;
  /** Hard cap on decompressed bytes. */
  readonly maxBytes: number;
  readonly signal?: AbortSignal;
  /** Read buffer size; larger chunks mean fewer parser calls. */
  readonly chunkSize?: number;
}

/**
 * The decompressed bytes of a metadata file, streamed in chunks (memory stays flat whatever the
 * file's size), bounded as {@link DecompressedSizeLimit} says. Corrupt compressed data is
 * TRIBUTARY_ERR_ENCODING_INVALID.
 */
export async function* readDecompressed(file: string, options: DecompressOptions): AsyncGenerator<Buffer> {
  // whatever the decompressor's chunks, the parser gets pieces whose text stays out of V8's large objects
  const limiter = new DecompressedSizeLimit({ source: options.source, expectedSize: options.expectedSize, maxBytes: options.maxBytes, maxChunkBytes: OUTPUT_CHUNK });
  const source = createReadStream(file, { highWaterMark: options.chunkSize ?? 256 * 1024 });
  const output = pipeline(source, createDecompressor(options.compression), limiter, () => undefined);
  const onAbort = () => output.destroy(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of output) yield chunk as Buffer;
  } catch (error) {
    if (isTributaryError(error) || options.signal?.aborted) throw error;
    throw new TributaryError(
      ErrorCodes.ENCODING_INVALID,
      `${options.source} is not valid ${options.compression} data: ${(error as Error)?.message ?? String(error)}`,
      { cause: error, details: { source: options.source, compression: options.compression, decompressedBytes: limiter.bytes } },
    );
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    output.destroy();
    source.destroy();
  }
}
