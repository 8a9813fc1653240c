/** Input bytes waiting to be read, as the chunks they came in; read in contiguous pieces. */
export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Bytes of the first chunk already read. */
  private offset = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** The byte `at` bytes ahead (`at` < length). */
  byteAt(at: number): number {
    let i = 0;
    let position = this.offset + at;
    while (position >= this.chunks[i]!.length) position -= this.chunks[i++]!.length;
    return this.chunks[i]![position]!;
  }

  /** The next `n` bytes (n ≤ length), removed: a view when they lie in one chunk, else a copy. */
  take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (this.offset + n <= first.length) {
      const piece = first.subarray(this.offset, this.offset + n);
      this.skip(n);
      return piece;
    }
    const piece = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const count = Math.min(n - filled, chunk.length - this.offset);
      chunk.copy(piece, filled, this.offset, this.offset + count);
      filled += count;
      this.skip(count);
    }
    return piece;
  }

  /** Drops the next `n` bytes (n ≤ length). */
  skip(n: number): void {
    this.size -= n;
    this.offset += n;
    while (this.chunks.length > 0 && this.offset >= this.chunks[0]!.length) {
      this.offset -= this.chunks[0]!.length;
      this.chunks.shift();
    }
  }
}
