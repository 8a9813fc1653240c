import { Decompress } from 'fzstd';
import { ByteQueue } from './byte-queue.js';
import { DecoderLimitError } from './decoder-limit-error.js';
import { PacedDecoder } from './paced-decoder.js';

/**
 * Largest window a frame may ask for: zstd's own default decoder limit (`--memory=128MB`,
 * windowLog 27), so what dnf reads is read. fzstd allocates the window up front and moves all of
 * it per block, so a frame declaring a 2 GiB window would cost 2 GiB whatever it holds.
 */
export const ZSTD_MAX_WINDOW = 128 * 1024 * 1024;

/** Largest block content (zstd's Block_Maximum_Size). */
const MAX_BLOCK = 128 * 1024;

const ZSTD_MAGIC = 0xfd2fb528;

/**
 * Streaming Zstandard decompression as a Node Transform. Node 20's zlib has no zstd, so this wraps
 * fzstd's pure-JavaScript streaming decoder (no native build, installs anywhere `npm ci` runs).
 *
 * fzstd decodes every block of the input it is given at once, so this reads the frame structure
 * itself (headers, block sizes, checksums, skippable frames) and gives fzstd one block at a time:
 * at most one block's output (128 KiB) is made before the reader asks for more (see PacedDecoder).
 * Each piece given ends one byte into the next unit: a piece ending exactly at a block's end makes
 * fzstd keep an empty view of it, so all input would stay referenced.
 */
export class ZstdDecompressStream extends PacedDecoder {
  private readonly decoder: Decompress;
  private readonly input = new ByteQueue();
  private readonly output: Buffer[] = [];
  /** The first byte of `input` was already given to fzstd (as the end of the previous piece). */
  private fedAhead = false;
  /** What comes next in the input. */
  private state: 'frame' | 'block' | 'checksum' | 'skip' = 'frame';
  /** Whether the frame being read has a content checksum. */
  private checksummed = false;
  /** Bytes of a skippable frame still to pass. */
  private skipping = 0;
  private frames = 0;
  private flushed = false;

  constructor() {
    super();
    this.decoder = new Decompress((chunk) => {
      // fzstd may hand out views of its own window buffer, which it reuses: copy before queueing.
      if (chunk.length > 0) this.output.push(Buffer.from(chunk));
    });
  }

  protected override accept(chunk: Buffer): void {
    this.input.push(chunk);
  }

  protected override next(final: boolean): Buffer | undefined {
    for (;;) {
      const ready = this.output.shift();
      if (ready !== undefined) return ready;
      if (!this.step()) {
        if (final) this.finish();
        return this.output.shift();
      }
    }
  }

  /** Reads and feeds one unit of the input; false when the input holds no whole unit. */
  private step(): boolean {
    const input = this.input;
    switch (this.state) {
      case 'frame': {
        if (input.length < 4) return false;
        const magic = (input.byteAt(0) | (input.byteAt(1) << 8) | (input.byteAt(2) << 16) | (input.byteAt(3) << 24)) >>> 0;
        if ((magic & 0xfffffff0) === 0x184d2a50) {
          if (input.length < 8) return false;
          this.skipping = 8 + ((input.byteAt(4) | (input.byteAt(5) << 8) | (input.byteAt(6) << 16) | (input.byteAt(7) << 24)) >>> 0);
          this.state = 'skip';
          return true;
        }
        if (magic !== ZSTD_MAGIC) throw new Error(`${this.frames === 0 ? 'no' : 'bytes after the last'} zstd frame (magic ${magic.toString(16).padStart(8, '0')})`);
        if (input.length < 5) return false;
        const size = this.readFrameHeader();
        if (size === undefined) return false;
        this.feed(size);
        this.frames++;
        this.state = 'block';
        return true;
      }
      case 'block': {
        if (input.length < 3) return false;
        const header = input.byteAt(0) | (input.byteAt(1) << 8) | (input.byteAt(2) << 16);
        const type = (header >> 1) & 3;
        const size = header >>> 3;
        if (type === 3) throw new Error('a block of the reserved type 3');
        if (size > MAX_BLOCK) throw new Error(`a block of ${size} bytes, more than zstd's ${MAX_BLOCK}`);
        const length = 3 + (type === 1 ? 1 : size);
        if (input.length < length) return false;
        this.feed(length);
        if (header & 1) this.state = this.checksummed ? 'checksum' : 'frame';
        return true;
      }
      case 'checksum':
        if (input.length < 4) return false;
        this.feed(4);
        this.state = 'frame';
        return true;
      case 'skip': {
        // streamed: a skippable frame may be as large as it says, and makes no output
        const count = Math.min(this.skipping, input.length);
        if (count === 0) return false;
        this.feed(count, false);
        this.skipping -= count;
        if (this.skipping === 0) this.state = 'frame';
        return true;
      }
    }
  }

  /** The frame header's size, once all of it is there; refuses a window past ZSTD_MAX_WINDOW. */
  private readFrameHeader(): number | undefined {
    const input = this.input;
    const descriptor = input.byteAt(4);
    const singleSegment = (descriptor >> 5) & 1;
    const sizeFlag = descriptor >> 6;
    const dictionaryBytes = [0, 1, 2, 4][descriptor & 3]!;
    const contentSizeBytes = sizeFlag === 0 ? singleSegment : 1 << sizeFlag;
    const size = 5 + (singleSegment ? 0 : 1) + dictionaryBytes + contentSizeBytes;
    if (input.length < size) return undefined;
    if (descriptor & 8) throw new Error('a frame header with the reserved bit set');
    this.checksummed = ((descriptor >> 2) & 1) === 1;
    let window: number;
    if (singleSegment) {
      // the window is the content size (little-endian, 1 to 8 bytes; 2 bytes count from 256)
      let contentSize = 0;
      const at = size - contentSizeBytes;
      for (let i = contentSizeBytes - 1; i >= 0; i--) contentSize = contentSize * 256 + input.byteAt(at + i);
      window = contentSizeBytes === 2 ? contentSize + 256 : contentSize;
    } else {
      const windowDescriptor = input.byteAt(5);
      const base = 2 ** (10 + (windowDescriptor >> 3));
      window = base + (base / 8) * (windowDescriptor & 7);
    }
    if (window > ZSTD_MAX_WINDOW) {
      throw new DecoderLimitError(`a zstd frame needs a ${window}-byte window, more than the ${ZSTD_MAX_WINDOW} bytes Tributary allows (as zstd does by default)`);
    }
    return size;
  }

  /**
   * Gives fzstd the next `count` bytes of input, and (unless `lookAhead` is false or the input
   * holds no more) the byte after them too, so the piece ends inside the next unit.
   */
  private feed(count: number, lookAhead = true): void {
    const piece = this.input.take(count);
    let data = this.fedAhead ? piece.subarray(1) : piece;
    this.fedAhead = false;
    if (lookAhead && this.input.length > 0) {
      const joined = Buffer.allocUnsafe(data.length + 1);
      data.copy(joined, 0);
      joined[data.length] = this.input.byteAt(0);
      data = joined;
      this.fedAhead = true;
    }
    if (data.length > 0) this.decoder.push(data, false);
  }

  /** At the end of the input: it must end between frames; fzstd gives what it still holds. */
  private finish(): void {
    if (this.flushed) return;
    if (this.input.length > 0 || this.state !== 'frame') throw new Error('the zstd data ends early (truncated)');
    if (this.frames === 0) throw new Error('no zstd frame');
    this.flushed = true;
    this.decoder.push(new Uint8Array(0), true);
  }
}
