import { Transform, type TransformCallback } from 'node:stream';
import { Decompress } from 'fzstd';

/**
 * Streaming Zstandard decompression as a Node Transform. Node 20's zlib has no zstd, so this wraps
 * fzstd's pure-JavaScript streaming decoder (no native build, installs anywhere `npm ci` runs).
 */
export class ZstdDecompressStream extends Transform {
  private readonly decoder: Decompress;
  private ended = false;

  constructor() {
    super();
    this.decoder = new Decompress((chunk, final) => {
      // fzstd may hand out views of its own window buffer, which it reuses: copy before queueing.
      if (chunk.length > 0) this.push(Buffer.from(chunk));
      if (final) this.ended = true;
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.decoder.push(chunk);
      callback();
    } catch (error) {
      callback(asError(error));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (!this.ended) this.decoder.push(new Uint8Array(0), true);
      callback();
    } catch (error) {
      callback(asError(error));
    }
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
