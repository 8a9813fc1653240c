import { Transform, type TransformCallback } from 'node:stream';

/**
 * Passes its input on in slices of about `size` bytes (views, not copies), for a decompressor
 * that inflates a whole chunk each time it is written to: the stream behind it then waits for its
 * reader between slices, so what one write inflates is bounded by the slice, not the chunk.
 *
 * `unsplit`, a pair of bytes, is never cut between its two bytes, even across input chunks:
 * lzma-native finds where one of several concatenated xz streams ends by looking for the footer
 * magic "YZ" inside each write, and reads the bytes after a missed one as garbage.
 */
export class InputSlicer extends Transform {
  /** The last byte of the previous chunk, held back when it was the first of `unsplit`. */
  private carry: Buffer | undefined;

  constructor(
    private readonly size: number,
    private readonly unsplit?: readonly [number, number],
  ) {
    // slices are read one by one: a byte-mode reader may join the ones it finds buffered
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const pair = this.unsplit;
    // a held-back byte goes before this chunk (a copy, for the rare chunk that ended in pair[0])
    const data = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    for (let start = 0; start < data.length; ) {
      let end = Math.min(start + this.size, data.length);
      if (pair && data[end - 1] === pair[0]) {
        if (end < data.length) {
          if (data[end] === pair[1]) end++;
        } else {
          this.carry = Buffer.from(data.subarray(end - 1));
          end--;
        }
      }
      if (end > start) this.push(data.subarray(start, end));
      if (this.carry) break;
      start = end;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.carry) this.push(this.carry);
    this.carry = undefined;
    callback();
  }
}
