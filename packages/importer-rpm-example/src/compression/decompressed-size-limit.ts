import { Transform, type TransformCallback } from 'node:stream';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';

export interface DecompressedSizeLimitOptions {
  /** What is being read, for messages (`primary metadata repodata/…-primary.xml.gz`). */
  readonly source: string;
  /** The `open-size` repomd.xml declares, if any. */
  readonly expectedSize?: number;
  /** The hard cap, whatever repomd.xml declares. */
  readonly maxBytes: number;
  /** Larger chunks are passed on in pieces of this many bytes (views, not copies). */
  readonly maxChunkBytes?: number;
  /** The first piece passed on is at most this many bytes (so what reads it has something sooner). */
  readonly firstChunkBytes?: number;
}

/**
 * Counts decompressed bytes and stops the stream as soon as they pass repomd's `open-size` or the
 * hard cap (TRIBUTARY_ERR_DECOMPRESSION_LIMIT): a decompression bomb never gets further than one
 * chunk past the limit. At the end, a size different from a declared `open-size` is
 * TRIBUTARY_ERR_SIZE_MISMATCH. Chunks are passed on in pieces of at most `maxChunkBytes`.
 */
export class DecompressedSizeLimit extends Transform {
  private total = 0;
  private readonly limit: number;
  private first = true;

  constructor(private readonly options: DecompressedSizeLimitOptions) {
    // chunks are read one by one: a byte-mode reader would join the pieces it finds buffered again
    super({ readableObjectMode: true });
    this.limit = Math.min(options.maxBytes, options.expectedSize ?? Number.POSITIVE_INFINITY);
  }

  /** Decompressed bytes seen so far. */
  get bytes(): number {
    return this.total;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.total += chunk.length;
    if (this.total > this.limit) {
      const { source, expectedSize, maxBytes } = this.options;
      const bound =
        expectedSize !== undefined && expectedSize <= maxBytes
          ? `the open-size ${expectedSize} that repomd.xml declares`
          : `the hard cap of ${maxBytes} bytes (config maxMetadataBytes)`;
      callback(
        new TributaryError(ErrorCodes.DECOMPRESSION_LIMIT, `${source} decompresses to more than ${bound}; refusing it as a possible decompression bomb`, {
          details: { source, expectedSize, maxBytes, seenBytes: this.total },
        }),
      );
      return;
    }
    let start = 0;
    if (this.first) {
      this.first = false;
      const firstPiece = this.options.firstChunkBytes;
      if (firstPiece !== undefined && chunk.length > firstPiece) {
        this.push(chunk.subarray(0, firstPiece));
        start = firstPiece;
      }
    }
    const piece = this.options.maxChunkBytes ?? chunk.length;
    if (start === 0 && chunk.length <= piece) {
      callback(null, chunk);
      return;
    }
    for (; start < chunk.length; start += piece) this.push(chunk.subarray(start, start + piece));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const { source, expectedSize } = this.options;
    if (expectedSize !== undefined && this.total !== expectedSize) {
      callback(
        new TributaryError(ErrorCodes.SIZE_MISMATCH, `${source} decompressed to ${this.total} bytes but repomd.xml declares an open-size of ${expectedSize}`, {
          details: { source, expectedSize, actualSize: this.total },
        }),
      );
      return;
    }
    callback();
  }
}
