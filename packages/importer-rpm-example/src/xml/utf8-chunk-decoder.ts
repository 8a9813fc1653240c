import { isUtf8 } from 'node:buffer';

/**
 * Strict UTF-8 decoding of a byte stream in chunks: a sequence cut by a chunk boundary is carried
 * into the next chunk, each complete part is validated (simdutf, via `isUtf8`) and decoded. About
 * twice as fast as `TextDecoder` with `fatal: true`, which matters on a 250 MB primary.xml. A
 * leading byte-order mark is dropped, as XML parsers do.
 */
export class Utf8ChunkDecoder {
  private carry: Buffer | undefined;
  private first = true;

  /** The text of `chunk` (plus what the previous chunk left); throws on invalid UTF-8. */
  decode(chunk: Buffer): string {
    const bytes = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    const complete = completeLength(bytes);
    this.carry = complete < bytes.length ? Buffer.from(bytes.subarray(complete)) : undefined;
    const part = bytes.subarray(0, complete);
    if (!isUtf8(part)) throw new Error('invalid UTF-8');
    let text = part.toString('utf8');
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    return text;
  }

  /** Throws when the stream ended inside a sequence. */
  end(): void {
    if (this.carry) throw new Error('the document ends inside a UTF-8 sequence');
  }
}

/** Length of `bytes` without a trailing multi-byte sequence that is not complete yet. */
function completeLength(bytes: Buffer): number {
  for (let i = bytes.length - 1; i >= 0 && i >= bytes.length - 4; i--) {
    const byte = bytes[i]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back for the lead
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return i + needed > bytes.length ? i : bytes.length;
  }
  return bytes.length;
}
