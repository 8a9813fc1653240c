import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { pipeline, type Duplex } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ErrorCodes, isTributaryError, TributaryError } from '@tributary/plugin-api';
import { Bzip2DecompressStream } from './bzip2-decompress-stream.js';
import { DecoderLimitError } from './decoder-limit-error.js';
import { DecompressedSizeLimit } from './decompressed-size-limit.js';
import { InputSlicer } from './input-slicer.js';

// The xz and zstd decoders (lzma-native and its streams, fzstd) are loaded by the first metadata
// file compressed that way: most repositories are gzip, and every sync loads this module.
const lzmaNative = () => require('lzma-native') as typeof import('lzma-native');
const zstdStream = () => require('./zstd-decompress-stream.js') as typeof import('./zstd-decompress-stream.js');

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
/**
 * The first piece of a file's output is smaller: a small repository's packages are parsed on the
 * stage's thread as chunks come, and the first of them reach the pipeline (and their downloads
 * start) after a quarter of the cold parsing.
 */
const FIRST_OUTPUT_CHUNK = 16 * 1024;

/**
 * xz streams needing more memory than this are refused rather than decoded: the most any xz preset
 * needs (-9: 65 MiB, its 64 MiB dictionary) with room to spare. The dictionary fills as output
 * passes through it, so it is what a bomb costs on top of the rest; a header asking for more is
 * TRIBUTARY_ERR_DECOMPRESSION_LIMIT.
 */
const XZ_MEMLIMIT = 80 * 1024 * 1024;

/**
 * Compressed bytes lzma-native is given at a time. It inflates all of what it is given before it
 * hands any of it over, and LZMA2 inflates up to about 7,000 times (1 GiB of zeros is 150 KiB of
 * xz), so a slice of 256 bytes is at most ~2 MB of output before the reader is asked again. Larger
 * slices cost a bomb more than their output: with 1 KiB (7 MB bursts) a 1 GiB bomb read through the
 * parser peaked 50 MiB higher, the buffers outliving young-generation collections. Real metadata
 * inflates about ten times; its CPU time did not measurably differ between 256 B and 1 KiB.
 */
const XZ_SLICE = 256;

/** The last two bytes of an xz stream ("YZ"), which a slice must not separate (see InputSlicer). */
const XZ_FOOTER_MAGIC = [0x59, 0x5a] as const;

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

/**
 * The streams that decompress `compression`. Each makes output only while its reader keeps up
 * (back-pressure), so a bomb is stopped by the size limit behind it with a piece or two inflated,
 * not an input chunk's worth: zlib pauses mid-chunk by itself; lzma-native inflates whatever it is
 * written at once, so it is written small slices one at a time; zstd and bzip2 decode as they are
 * read (see PacedDecoder).
 */
export function decompressionStreams(compression: MetadataCompression): Duplex[] {
  switch (compression) {
    case 'gzip':
      return [createGunzip({ chunkSize: OUTPUT_CHUNK })];
    case 'xz':
      // a writable high-water mark of one byte: lzma-native joins buffered writes (_writev)
      return [new InputSlicer(XZ_SLICE, XZ_FOOTER_MAGIC), lzmaNative().createDecompressor({ memlimit: XZ_MEMLIMIT, synchronous: true, writableHighWaterMark: 1 })];
    case 'bzip2':
      return [new Bzip2DecompressStream()];
    case 'zstd':
      return [new (zstdStream().ZstdDecompressStream)()];
    case 'none':
      return [];
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
  const limiter = new DecompressedSizeLimit({ source: options.source, expectedSize: options.expectedSize, maxBytes: options.maxBytes, maxChunkBytes: OUTPUT_CHUNK, firstChunkBytes: FIRST_OUTPUT_CHUNK });
  const source = createReadStream(file, { highWaterMark: options.chunkSize ?? 256 * 1024 });
  pipeline([source, ...decompressionStreams(options.compression), limiter], () => undefined);
  const output = limiter;
  const onAbort = () => output.destroy(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of output) yield chunk as Buffer;
  } catch (error) {
    if (isTributaryError(error) || options.signal?.aborted) throw error;
    if (error instanceof DecoderLimitError || isXzMemoryLimit(error)) {
      const reason = error instanceof DecoderLimitError ? error.message : `its xz stream needs more than the ${XZ_MEMLIMIT} bytes of memory Tributary allows`;
      throw new TributaryError(ErrorCodes.DECOMPRESSION_LIMIT, `${options.source}: ${reason}; refusing it as a possible decompression bomb`, {
        cause: error,
        details: { source: options.source, compression: options.compression, decompressedBytes: limiter.bytes },
      });
    }
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

/** lzma-native's error for a stream needing more than XZ_MEMLIMIT (made by the addon: not always `instanceof Error` here). */
function isXzMemoryLimit(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'LZMA_MEMLIMIT_ERROR';
}
