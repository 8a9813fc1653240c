import { Bzip2Decoder } from './bzip2-decoder.js';
import { PacedDecoder } from './paced-decoder.js';

/** Output pieces: what readDecompressed hands the parser. */
const PIECE = 64 * 1024;

/** Streaming bzip2 decompression ({@link Bzip2Decoder}) that makes output only as it is read (see PacedDecoder). */
export class Bzip2DecompressStream extends PacedDecoder {
  private readonly decoder = new Bzip2Decoder();

  protected override accept(chunk: Buffer): void {
    this.decoder.write(chunk);
  }

  protected override next(final: boolean): Buffer | undefined {
    if (final) this.decoder.end();
    const piece = Buffer.allocUnsafe(PIECE);
    const count = this.decoder.read(piece);
    if (count > 0) return count === PIECE ? piece : piece.subarray(0, count);
    if (final && !this.decoder.finished) throw new Error('the bzip2 data ends early (truncated)');
    return undefined;
  }
}
