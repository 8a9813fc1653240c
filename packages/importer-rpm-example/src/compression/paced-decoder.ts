import { Transform, type TransformCallback } from 'node:stream';

/**
 * A decompressor as a Transform that makes output only while its reader wants it: after each piece
 * it hands over, it stops until the reader takes it if the readable side is full, however much
 * output the input it holds would still give. A bomb's memory is then a piece or two, whatever its
 * ratio: without this, a transform inflates all of an input chunk before the size limit behind it
 * sees any (36 KB of zstd are 1 GiB). Subclasses say how input is taken and output made.
 */
export abstract class PacedDecoder extends Transform {
  /** Where to go on once the reader wants more (set while paused). */
  private continuation: (() => void) | undefined;

  /** Takes a chunk of compressed input. */
  protected abstract accept(chunk: Buffer): void;

  /**
   * The next piece of output the input taken so far gives, or undefined when it gives no more for
   * now. `final`: no more input will come, so input that stops short is an error to throw.
   */
  protected abstract next(final: boolean): Buffer | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.accept(chunk);
    } catch (error) {
      callback(asError(error));
      return;
    }
    this.drain(false, callback);
  }

  override _flush(callback: TransformCallback): void {
    this.drain(true, callback);
  }

  override _read(size: number): void {
    const continuation = this.continuation;
    this.continuation = undefined;
    continuation?.();
    // Unless it paused again, the input in hand is used up: Transform's own _read then takes the
    // next chunk (its callback waits for a read when the readable side was full, and this read is
    // the only one coming: Node calls _read again only after a push).
    if (this.continuation === undefined) super._read(size);
  }

  private drain(final: boolean, callback: TransformCallback): void {
    try {
      for (;;) {
        if (this.destroyed) return;
        const piece = this.next(final);
        if (piece === undefined) break;
        if (!this.push(piece)) {
          this.continuation = () => this.drain(final, callback);
          return;
        }
      }
    } catch (error) {
      callback(asError(error));
      return;
    }
    callback();
  }
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
