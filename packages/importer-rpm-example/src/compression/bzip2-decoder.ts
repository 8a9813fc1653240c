/**
 * A bzip2 decoder that makes output only as fast as it is asked for. The algorithm is Rob
 * Landley's micro-bunzip, as bzip2.js (antimatter15, MIT) ported it for unbzip2-stream; that port
 * turns a whole block into a JavaScript array of numbers before handing it over, and a block of a
 * bomb inflates to 45 MB (1 GiB of zeros is 785 bytes of bzip2), so here a block is decoded into
 * its BWT vector (4 bytes per compressed-side byte, 3.6 MB for the largest) and its output is then
 * written into the caller's buffer a piece at a time, resumable mid-run.
 *
 * Errors are plain Errors whose message says what is wrong (corrupt, truncated), without the
 * source: readDecompressed names the file.
 */

const MAX_GROUPS = 6;
const MAX_SYMBOLS = 258;
const MAX_CODE_BITS = 20;
const GROUP_SIZE = 50;
const MAX_SELECTORS = 32767;

/** CRC-32 (MSB first, polynomial 0x04c11db7) as bzip2 computes it. */
const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c;
  }
  return table;
})();

/** Thrown when a block (or header) reaches past the input there is; the attempt is retried with more. */
const UNDERFLOW = Symbol('bzip2 input underflow');

interface HuffmanGroup {
  readonly permute: Int32Array;
  readonly limit: Int32Array;
  readonly base: Int32Array;
  minLen: number;
  maxLen: number;
}

export class Bzip2Decoder {
  // input, read bit by bit; bytes before `bytePos` are consumed
  private input: Buffer = Buffer.alloc(0);
  private bytePos = 0;
  private bitBuffer = 0;
  private bitCount = 0;
  private ended = false;
  /** Input bytes there must be before a block is tried again after it ran past the end. */
  private retryAt = 0;

  private state: 'stream' | 'block' | 'output' = 'stream';
  private streams = 0;
  private blockSize = 0;
  /** The block's BWT vector: byte in the low 8 bits, link above. */
  private tt = new Int32Array(0);
  private streamCrc = 0;
  private blockCrc = 0;

  // output state of the block being written out
  private remaining = 0;
  private pos = 0;
  private current = 0;
  private run = 0;
  private copies = 0;
  private outByte = 0;
  private crc = 0;

  // decoding tables, reused from block to block
  private readonly symToByte = new Uint8Array(256);
  private readonly mtf = new Uint8Array(256);
  private readonly byteCount = new Int32Array(256);
  private readonly selectors = new Uint8Array(MAX_SELECTORS);
  private readonly lengths = new Uint8Array(MAX_SYMBOLS);
  private readonly groups: HuffmanGroup[] = Array.from({ length: MAX_GROUPS }, () => ({
    permute: new Int32Array(MAX_SYMBOLS),
    limit: new Int32Array(MAX_CODE_BITS + 2),
    base: new Int32Array(MAX_CODE_BITS + 2),
    minLen: 0,
    maxLen: 0,
  }));

  /** Whether the input so far ended a stream and nothing more is pending. */
  get finished(): boolean {
    return this.state === 'stream' && this.streams > 0 && this.bytesLeft() === 0;
  }

  /** Adds compressed input. */
  write(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.input = this.bytePos < this.input.length ? Buffer.concat([this.input.subarray(this.bytePos), chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.bytePos = 0;
  }

  /** No more input will come: what is left must complete the data. */
  end(): void {
    this.ended = true;
  }

  /**
   * Writes decompressed bytes into `out` from `offset`; returns how many. Fewer than there is room
   * for means the input taken so far gives no more now (or the data is complete: see `finished`).
   */
  read(out: Uint8Array, offset = 0): number {
    let at = offset;
    while (at < out.length) {
      if (this.state === 'output') {
        at = this.writeOut(out, at);
        if (this.remaining === 0 && this.copies === 0) this.endBlock();
        continue;
      }
      if (!this.attempt()) break;
    }
    return at - offset;
  }

  /** One step that needs input (a stream header, a block, the end of a stream); false when it must wait. */
  private attempt(): boolean {
    if (!this.ended && this.bytesLeft() < this.retryAt) return false;
    const saved = [this.bytePos, this.bitBuffer, this.bitCount] as const;
    try {
      if (this.state === 'stream') {
        if (this.bytesLeft() === 0) {
          if (!this.ended) return false;
          if (this.streams === 0) throw new Error('no bzip2 stream');
          return false;
        }
        this.readStreamHeader();
      } else {
        this.readBlock();
      }
      this.retryAt = 0;
      return true;
    } catch (error) {
      if (error !== UNDERFLOW) throw error;
      [this.bytePos, this.bitBuffer, this.bitCount] = saved;
      if (this.ended) throw new Error(this.state === 'stream' ? 'the bzip2 data ends inside a stream header (truncated)' : 'the bzip2 data ends inside a block (truncated)');
      this.retryAt = Math.max(this.bytesLeft() * 2, 4096);
      return false;
    }
  }

  private bytesLeft(): number {
    return this.input.length - this.bytePos + (this.bitCount >> 3);
  }

  /** The next `n` (≤ 24) bits, most significant first. */
  private bits(n: number): number {
    while (this.bitCount < n) {
      if (this.bytePos >= this.input.length) throw UNDERFLOW;
      this.bitBuffer = (this.bitBuffer << 8) | this.input[this.bytePos++]!;
      this.bitCount += 8;
    }
    this.bitCount -= n;
    return (this.bitBuffer >>> this.bitCount) & ((1 << n) - 1);
  }

  private bits32(): number {
    return ((this.bits(16) << 16) | this.bits(16)) >>> 0;
  }

  private readStreamHeader(): void {
    this.bitCount -= this.bitCount & 7; // streams start on a byte
    const magic = this.bits(24);
    if (magic !== 0x425a68) throw new Error(this.streams === 0 ? 'no bzip2 header ("BZh")' : 'bytes after the end of the bzip2 stream that start no other');
    const level = this.bits(8) - 0x30;
    if (level < 1 || level > 9) throw new Error(`block size digit ${level} is not 1-9`);
    this.blockSize = level * 100000;
    if (this.tt.length < this.blockSize) this.tt = new Int32Array(this.blockSize);
    this.streamCrc = 0;
    this.state = 'block';
  }

  /** A block into the BWT vector, ready to write out; or the end of the stream. */
  private readBlock(): void {
    const magicHigh = this.bits(24);
    const magicLow = this.bits(24);
    if (magicHigh === 0x177245 && magicLow === 0x385090) {
      const crc = this.bits32();
      if (crc !== this.streamCrc >>> 0) throw new Error('the stream CRC does not match (corrupt data)');
      this.bitCount -= this.bitCount & 7;
      this.streams++;
      this.state = 'stream';
      return;
    }
    if (magicHigh !== 0x314159 || magicLow !== 0x265359) throw new Error('no block where a block should start (corrupt data)');
    this.blockCrc = this.bits32();
    if (this.bits(1)) throw new Error('a randomised block (obsolete, not supported)');
    const origPtr = this.bits(24);

    // the byte values in use
    const symToByte = this.symToByte;
    let symTotal = 0;
    const used = this.bits(16);
    for (let i = 0; i < 16; i++) {
      if (!(used & (1 << (15 - i)))) continue;
      const k = this.bits(16);
      for (let j = 0; j < 16; j++) if (k & (1 << (15 - j))) symToByte[symTotal++] = 16 * i + j;
    }
    if (symTotal === 0) throw new Error('a block that uses no byte value (corrupt data)');

    // Huffman groups and the selectors (move-to-front coded) choosing one per 50 symbols
    const groupCount = this.bits(3);
    if (groupCount < 2 || groupCount > MAX_GROUPS) throw new Error('bad Huffman group count (corrupt data)');
    const selectorCount = this.bits(15);
    if (selectorCount === 0) throw new Error('no selectors (corrupt data)');
    const mtf = this.mtf;
    for (let i = 0; i < groupCount; i++) mtf[i] = i;
    for (let i = 0; i < selectorCount; i++) {
      let j = 0;
      while (this.bits(1)) if (++j >= groupCount) throw new Error('bad selector (corrupt data)');
      const value = mtf[j]!;
      for (; j > 0; j--) mtf[j] = mtf[j - 1]!;
      mtf[0] = value;
      this.selectors[i] = value;
    }

    const symCount = symTotal + 2;
    const lengths = this.lengths;
    for (let g = 0; g < groupCount; g++) {
      let length = this.bits(5);
      for (let s = 0; s < symCount; s++) {
        for (;;) {
          if (length < 1 || length > MAX_CODE_BITS) throw new Error('bad Huffman code length (corrupt data)');
          if (!this.bits(1)) break;
          length += this.bits(1) ? -1 : 1;
        }
        lengths[s] = length;
      }
      this.buildGroup(this.groups[g]!, symCount);
    }

    // symbols: run lengths of the front byte (RUNA, RUNB) and move-to-front indexes, into tt
    for (let i = 0; i < 256; i++) {
      mtf[i] = i;
      this.byteCount[i] = 0;
    }
    const tt = this.tt;
    const limitSize = this.blockSize;
    const byteCount = this.byteCount;
    let count = 0;
    let runPos = 0;
    let run = 0;
    let groupLeft = 0;
    let selector = 0;
    let group = this.groups[0]!;
    for (;;) {
      if (groupLeft-- === 0) {
        if (selector >= selectorCount) throw new Error('ran out of selectors (corrupt data)');
        group = this.groups[this.selectors[selector++]!]!;
        groupLeft = GROUP_SIZE - 1;
      }
      let length = group.minLen;
      let code = this.bits(length);
      while (code > group.limit[length]!) {
        if (++length > group.maxLen) throw new Error('bad Huffman code (corrupt data)');
        code = (code << 1) | this.bits(1);
      }
      const index = code - group.base[length]!;
      if (index < 0 || index >= symCount) throw new Error('bad Huffman code (corrupt data)');
      const symbol = group.permute[index]!;
      if (symbol <= 1) {
        if (runPos === 0) {
          runPos = 1;
          run = 0;
        }
        run += runPos << symbol; // RUNA adds runPos, RUNB twice that
        runPos <<= 1;
        if (run > limitSize) throw new Error('a run longer than the block (corrupt data)');
        continue;
      }
      if (runPos !== 0) {
        runPos = 0;
        if (count + run > limitSize) throw new Error('a block longer than its size (corrupt data)');
        const value = symToByte[mtf[0]!]!;
        byteCount[value]! += run;
        tt.fill(value, count, count + run);
        count += run;
      }
      if (symbol === symTotal + 1) break; // end of block
      if (count >= limitSize) throw new Error('a block longer than its size (corrupt data)');
      let j = symbol - 1;
      const value = mtf[j]!;
      for (; j > 0; j--) mtf[j] = mtf[j - 1]!;
      mtf[0] = value;
      const byte = symToByte[value]!;
      byteCount[byte]!++;
      tt[count++] = byte;
    }
    if (origPtr >= count) throw new Error('a block start position past its end (corrupt data)');

    // inverse BWT: link each position to the next
    let sum = 0;
    for (let i = 0; i < 256; i++) {
      const c = byteCount[i]!;
      byteCount[i] = sum;
      sum += c;
    }
    for (let i = 0; i < count; i++) {
      const byte = tt[i]! & 0xff;
      tt[byteCount[byte]!]! |= i << 8;
      byteCount[byte]!++;
    }
    const first = tt[origPtr]!;
    this.current = first & 0xff;
    this.pos = first >> 8;
    this.run = -1;
    this.remaining = count;
    this.copies = 0;
    this.crc = -1;
    this.state = 'output';
  }

  private buildGroup(group: HuffmanGroup, symCount: number): void {
    const lengths = this.lengths;
    let minLen = MAX_CODE_BITS;
    let maxLen = 0;
    for (let s = 0; s < symCount; s++) {
      if (lengths[s]! > maxLen) maxLen = lengths[s]!;
      if (lengths[s]! < minLen) minLen = lengths[s]!;
    }
    const { permute, limit, base } = group;
    let p = 0;
    for (let length = minLen; length <= maxLen; length++) for (let s = 0; s < symCount; s++) if (lengths[s] === length) permute[p++] = s;
    const perLength = new Int32Array(MAX_CODE_BITS + 2);
    for (let s = 0; s < symCount; s++) perLength[lengths[s]!]!++;
    limit.fill(0);
    base.fill(0);
    let code = 0;
    let before = 0;
    for (let length = minLen; length < maxLen; length++) {
      code += perLength[length]!;
      limit[length] = code - 1;
      code <<= 1;
      before += perLength[length]!;
      base[length + 1] = code - before;
    }
    limit[maxLen] = code + perLength[maxLen]! - 1;
    base[minLen] = 0;
    group.minLen = minLen;
    group.maxLen = maxLen;
  }

  /** Writes the block's bytes (undoing bzip2's initial run-length coding) into `out` from `at`. */
  private writeOut(out: Uint8Array, at: number): number {
    const tt = this.tt;
    const end = out.length;
    let { pos, current, run, remaining, copies, outByte, crc } = this;
    while (at < end) {
      if (copies > 0) {
        const n = Math.min(copies, end - at);
        for (let k = 0; k < n; k++) crc = (crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ outByte) & 0xff]!;
        out.fill(outByte, at, at + n);
        at += n;
        copies -= n;
        continue;
      }
      if (remaining === 0) break;
      remaining--;
      const previous = current;
      const entry = tt[pos]!;
      current = entry & 0xff;
      pos = entry >> 8;
      if (run++ === 3) {
        // four equal bytes: this one is how many more of them follow
        copies = current;
        outByte = previous;
        current = -1;
      } else {
        out[at++] = current;
        crc = (crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ current) & 0xff]!;
      }
      if (current !== previous) run = 0;
    }
    Object.assign(this, { pos, current, run, remaining, copies, outByte, crc });
    return at;
  }

  private endBlock(): void {
    const crc = ~this.crc >>> 0;
    if (crc !== this.blockCrc) throw new Error('a block CRC does not match (corrupt data)');
    this.streamCrc = (((this.streamCrc << 1) | (this.streamCrc >>> 31)) ^ crc) >>> 0;
    this.state = 'block';
  }
}
