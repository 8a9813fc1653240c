import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import { manifestInvalid } from './manifest-entry.js';

export interface ManifestLinesOptions {
  /** Name of the manifest in error messages (a url without credentials, or a file name). */
  readonly source?: string;
  /** A longer line is refused, so one missing newline cannot make the reader buffer a whole file. */
  readonly maxLineBytes?: number;
  readonly signal?: AbortSignal;
  /** Told the bytes read so far after each chunk: for progress displays. */
  readonly onRead?: (bytes: number) => void;
}

/** A path of up to 4096 characters plus a digest and a size fits in far less. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

/** One line of a manifest, numbered from 1, without its line end. */
export interface ManifestLine {
  readonly line: number;
  readonly text: string;
}

/**
 * Streams a text file's lines, in batches (one per read chunk, so the per-line cost is a loop
 * step rather than a promise), never holding more than one chunk and one partial line. Validates
 * UTF-8 (TRIBUTARY_ERR_ENCODING_INVALID naming the line), drops a leading byte-order mark and a
 * trailing `\r`.
 *
 * A newline byte never occurs inside a multi-byte UTF-8 sequence, so each chunk's run of complete
 * lines is validated and decoded at once, and only a failing run is searched line by line.
 */
export async function* readManifestLines(file: string, options: ManifestLinesOptions = {}): AsyncGenerator<ManifestLine[]> {
  const source = options.source ?? 'PULP_MANIFEST';
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let line = 0;
  let carry: Buffer | undefined;

  const decode = (run: Buffer): ManifestLine[] => {
    if (!isUtf8(run)) throw encodingInvalid(source, line + firstInvalidLine(run));
    const text = run.toString('utf8');
    const lines: ManifestLine[] = [];
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      const end = newline < 0 ? text.length : newline;
      line++;
      let lineText = text.slice(start, end);
      if (line === 1 && lineText.charCodeAt(0) === 0xfeff) lineText = lineText.slice(1);
      if (lineText.endsWith('\r')) lineText = lineText.slice(0, -1);
      lines.push({ line, text: lineText });
      if (newline < 0) return lines;
      start = newline + 1;
    }
  };

  const stream = createReadStream(file, { highWaterMark: 256 * 1024, signal: options.signal });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const data: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
      const lastNewline = data.lastIndexOf(0x0a);
      if (lastNewline < 0) {
        carry = data;
      } else {
        // lines longer than the limit that ended inside this chunk
        checkLineLengths(data.subarray(0, lastNewline), maxLineBytes, source, line);
        const lines = decode(data.subarray(0, lastNewline));
        carry = Buffer.from(data.subarray(lastNewline + 1)); // a copy, so the chunk can be collected
        options.onRead?.(stream.bytesRead);
        yield lines;
      }
      if (carry.length > maxLineBytes) throw manifestInvalid(source, line + 1, `the line is longer than ${maxLineBytes} bytes`);
    }
  } finally {
    stream.destroy();
  }
  options.onRead?.(stream.bytesRead);
  if (carry && carry.length > 0) yield decode(carry);
}

function checkLineLengths(run: Buffer, maxLineBytes: number, source: string, linesBefore: number): void {
  if (run.length <= maxLineBytes) return;
  let start = 0;
  let line = linesBefore;
  for (;;) {
    const newline = run.indexOf(0x0a, start);
    const end = newline < 0 ? run.length : newline;
    line++;
    if (end - start > maxLineBytes) throw manifestInvalid(source, line, `the line is longer than ${maxLineBytes} bytes`);
    if (newline < 0) return;
    start = newline + 1;
  }
}

/** 1-based index, within `run`, of the first line that is not valid UTF-8. */
function firstInvalidLine(run: Buffer): number {
  let start = 0;
  for (let index = 1; ; index++) {
    const newline = run.indexOf(0x0a, start);
    const end = newline < 0 ? run.length : newline;
    if (!isUtf8(run.subarray(start, end)) || newline < 0) return index;
    start = newline + 1;
  }
}

function encodingInvalid(source: string, line: number): TributaryError {
  return new TributaryError(ErrorCodes.ENCODING_INVALID, `${source} line ${line}: the line is not valid UTF-8`, {
    details: { manifest: source, line, problem: 'not valid UTF-8' },
  });
}
