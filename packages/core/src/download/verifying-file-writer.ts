import fs, { createWriteStream, type WriteStream } from 'node:fs';
import { ErrorCodes, TributaryError, type Digests, type DownloadedFile } from '@tributary/plugin-api';
import { StreamingDigests, verifyDigests, verifySize } from '../storage/streaming-digests.js';

/** Files up to this size are kept in memory and written with one writev: no stream per small file. */
const MEMORY_LIMIT = 256 * 1024;
const STREAM_HIGH_WATER_MARK = 1024 * 1024;

/** What a transfer must deliver; `digests` already normalised. */
export interface WriteExpectation {
  readonly size?: number;
  readonly maxBytes?: number;
  readonly digests: Digests;
}

/**
 * Receives a transfer's body chunk by chunk: hashes it, refuses it the moment it grows past the
 * expected size or `maxBytes`, and writes it to a temporary file. Small bodies are buffered and
 * written in one call on `finish()`, after verification, so a mismatching small body never touches
 * the disk; large ones stream through a write stream whose back-pressure the caller honours.
 */
export class VerifyingFileWriter {
  private readonly digests: StreamingDigests;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private stream: WriteStream | undefined;
  private streamError: Error | undefined;
  /** Called once if writing to disk fails while the body still streams, so the transfer can stop. */
  onStreamError: (error: TributaryError) => void = () => {};

  constructor(
    readonly file: string,
    private readonly expected: WriteExpectation,
    private readonly what: string,
  ) {
    this.digests = new StreamingDigests(expected.digests);
    if (expected.size !== undefined && expected.size > MEMORY_LIMIT) this.openStream();
  }

  get size(): number {
    return this.digests.size;
  }

  /** Checks a length the source declared up front (Content-Length, file size) before any byte. */
  checkDeclaredLength(length: number): void {
    if (this.expected.size !== undefined && length !== this.expected.size) {
      throw this.sizeError(`expected ${this.expected.size} bytes, the source declares ${length}`, length);
    }
    if (this.expected.maxBytes !== undefined && length > this.expected.maxBytes) {
      throw this.sizeError(`the source declares ${length} bytes, more than the limit of ${this.expected.maxBytes}`, length);
    }
  }

  /** Takes a chunk; false means "pause until `onDrain`". Throws TRIBUTARY_ERR_SIZE_MISMATCH on overflow. */
  write(chunk: Buffer): boolean {
    const total = this.digests.size + chunk.length;
    if (this.expected.size !== undefined && total > this.expected.size) {
      throw this.sizeError(`expected ${this.expected.size} bytes, received more`, total);
    }
    if (this.expected.maxBytes !== undefined && total > this.expected.maxBytes) {
      throw this.sizeError(`received more than the limit of ${this.expected.maxBytes} bytes`, total);
    }
    this.digests.update(chunk);
    if (this.stream === undefined) {
      if (this.buffered + chunk.length <= MEMORY_LIMIT) {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
        return true;
      }
      this.openStream();
    }
    return this.stream!.write(chunk);
  }

  onDrain(resume: () => void): void {
    if (this.stream === undefined) resume();
    else this.stream.once('drain', resume);
  }

  /** Verifies size and digests and completes the file. The writer is done either way. */
  async finish(): Promise<DownloadedFile> {
    const size = this.digests.size;
    const digests = this.digests.digest();
    verifySize(this.expected.size, size, this.what);
    verifyDigests(this.expected.digests, digests, this.what);
    if (this.stream === undefined) {
      await writeWhole(this.file, this.chunks).catch((error: Error) => {
        throw this.storageError(error);
      });
      this.chunks = [];
    } else {
      await this.endStream();
    }
    return { path: this.file, size, digests };
  }

  /** Stops writing and removes whatever reached the disk. */
  async discard(): Promise<void> {
    this.chunks = [];
    const stream = this.stream;
    if (stream !== undefined && !stream.closed) {
      await new Promise<void>((resolve) => {
        stream.once('close', resolve);
        stream.destroy();
      });
    }
    await fs.promises.rm(this.file, { force: true });
  }

  private openStream(): void {
    const stream = createWriteStream(this.file, { highWaterMark: STREAM_HIGH_WATER_MARK });
    stream.on('error', (error) => {
      if (this.streamError !== undefined) return;
      this.streamError = error;
      this.onStreamError(this.storageError(error));
    });
    for (const chunk of this.chunks) stream.write(chunk);
    this.chunks = [];
    this.buffered = 0;
    this.stream = stream;
  }

  private endStream(): Promise<void> {
    const stream = this.stream!;
    return new Promise<void>((resolve, reject) => {
      if (this.streamError !== undefined) return reject(this.storageError(this.streamError));
      stream.once('error', (error) => reject(this.storageError(error)));
      stream.end(() => resolve());
    });
  }

  private sizeError(message: string, actual: number): TributaryError {
    return new TributaryError(ErrorCodes.SIZE_MISMATCH, `${this.what}: ${message}`, {
      details: { expected: this.expected.size, maxBytes: this.expected.maxBytes, actual },
    });
  }

  private storageError(error: Error): TributaryError {
    const errno = (error as NodeJS.ErrnoException).code;
    return new TributaryError(ErrorCodes.STORAGE, `${this.what}: cannot write the temporary file: ${errno ?? error.message}`, {
      cause: error,
      details: { errno },
    });
  }
}

/** open + writev + close through callbacks: the cheapest way to put a small body on disk. */
function writeWhole(file: string, chunks: Buffer[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    fs.open(file, 'w', (openError, fd) => {
      if (openError) return reject(openError);
      const finish = (error: Error | null): void => {
        fs.close(fd, (closeError) => {
          const failure = error ?? closeError;
          if (failure) reject(failure);
          else resolve();
        });
      };
      const writeFrom = (pending: Buffer[]): void => {
        if (pending.length === 0) return finish(null);
        fs.writev(fd, pending, (writeError, written) => {
          if (writeError) return finish(writeError);
          writeFrom(dropWritten(pending, written));
        });
      };
      writeFrom(chunks);
    });
  });
}

/** What remains of `chunks` after a short write of `written` bytes. */
function dropWritten(chunks: Buffer[], written: number): Buffer[] {
  let index = 0;
  let left = written;
  while (index < chunks.length && left >= chunks[index]!.length) left -= chunks[index++]!.length;
  if (index >= chunks.length) return [];
  const rest = chunks.slice(index);
  if (left > 0) rest[0] = rest[0]!.subarray(left);
  return rest;
}
