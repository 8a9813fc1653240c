import fs, { createWriteStream, type WriteStream } from 'node:fs';
import { ErrorCodes, TributaryError, type Digests, type DownloadedFile } from '@tributary/plugin-api';
import { writeWhole } from '../storage/small-file-writer.js';
import { StreamingDigests, digestsOf, verifyDigests, verifySize } from '../storage/streaming-digests.js';

/**
 * Files up to this size are kept in memory, hashed whole and written with one write (by the
 * storage's writer thread): no stream, no hash object, and none of a stream's three thread-pool
 * round trips (open, write, close) per file, each of which wakes a thread that takes the core
 * from the downloading one on a small machine. Downloads held at once are bounded (see
 * ArtifactDownloader), so this bounds their memory too.
 */
const MEMORY_LIMIT = 1024 * 1024;
const STREAM_HIGH_WATER_MARK = 1024 * 1024;

/**
 * The temporary file of one download, shared by the writers of its attempts (retries, redirects,
 * other urls): `created` says whether any of them may have put it on disk, so a failure that never
 * got that far costs no filesystem call to clean up.
 */
export interface TempFile {
  readonly path: string;
  created: boolean;
}

/**
 * Puts a verified body held in memory on disk and says where: by default at the temporary file's
 * path; the host's downloader stages it beside its content address instead
 * ({@link ArtifactStorage.stageVerifiedBody}). On failure no part of it may be left behind.
 * `owned`: nothing else refers to the body's memory (it was joined from the chunks), so the writer
 * may take it rather than copy it.
 */
export type VerifiedBodyWriter = (temp: string, body: Buffer, sha256: string, owned: boolean) => Promise<string>;

const writeAtTempPath: VerifiedBodyWriter = (temp, body) => writeWhole(temp, body).then(() => temp);

/** What a transfer must deliver; `digests` already normalised. */
export interface WriteExpectation {
  readonly size?: number;
  readonly maxBytes?: number;
  readonly digests: Digests;
  /**
   * Told how many bytes of a body streamed to disk are in the file so far (a body kept in memory is
   * written whole, after verification, and reports nothing): lets readers follow a download while it
   * lands. A count lower than the last means a new attempt started the file over.
   */
  readonly onDisk?: (bytes: number, path: string) => void;
  /**
   * Told of every chunk as it arrives (checked against the size limits, not yet against the
   * digests), with its offset in the body; an offset lower than the last means a new attempt.
   * The chunk must only be read.
   */
  readonly onChunk?: (chunk: Buffer, offset: number) => void;
}

/**
 * Receives a transfer's body chunk by chunk, refuses it the moment it grows past the expected size
 * or `maxBytes`, verifies its digests, and writes it to a temporary file. Small bodies are kept in
 * memory, hashed whole and written in one call on `finish()`, after verification, so a mismatching
 * small body never touches the disk; large ones are hashed as they stream to disk through a write
 * stream whose back-pressure the caller honours.
 */
export class VerifyingFileWriter {
  /** Only once the body streams to disk; a body kept in memory is hashed whole by `finish()`. */
  private digests: StreamingDigests | undefined;
  private chunks: Buffer[] = [];
  private received = 0;
  private stream: WriteStream | undefined;
  private streamError: Error | undefined;
  /** Called once if writing to disk fails while the body still streams, so the transfer can stop. */
  onStreamError: (error: TributaryError) => void = () => {};

  constructor(
    private readonly temp: TempFile,
    private readonly expected: WriteExpectation,
    private readonly what: string,
    /** How a body held in memory is written (staged by the storage's writer thread; callback fs at the temp path by default). */
    private readonly writeBody: VerifiedBodyWriter = writeAtTempPath,
  ) {
    if (expected.size !== undefined && expected.size > MEMORY_LIMIT) this.openStream();
  }

  get size(): number {
    return this.received;
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
    const total = this.received + chunk.length;
    if (this.expected.size !== undefined && total > this.expected.size) {
      throw this.sizeError(`expected ${this.expected.size} bytes, received more`, total);
    }
    if (this.expected.maxBytes !== undefined && total > this.expected.maxBytes) {
      throw this.sizeError(`received more than the limit of ${this.expected.maxBytes} bytes`, total);
    }
    this.expected.onChunk?.(chunk, this.received);
    this.received = total;
    if (this.stream === undefined) {
      if (total <= MEMORY_LIMIT) {
        this.chunks.push(chunk);
        return true;
      }
      this.openStream();
    }
    this.digests!.update(chunk);
    return this.streamWrite(chunk);
  }

  onDrain(resume: () => void): void {
    if (this.stream === undefined) resume();
    else this.stream.once('drain', resume);
  }

  /** Verifies size and digests and completes the file. The writer is done either way. */
  async finish(): Promise<DownloadedFile> {
    const size = this.received;
    verifySize(this.expected.size, size, this.what);
    if (this.stream === undefined) {
      const owned = this.chunks.length !== 1;
      const body = owned ? Buffer.concat(this.chunks, size) : this.chunks[0]!;
      this.chunks = [];
      const digests = digestsOf(body, this.expected.digests);
      verifyDigests(this.expected.digests, digests, this.what);
      this.temp.created = true;
      const file = await this.writeBody(this.temp.path, body, digests.sha256, owned).catch((error: Error) => {
        throw this.storageError(error);
      });
      return { path: file, size, digests };
    }
    const digests = this.digests!.digest();
    verifyDigests(this.expected.digests, digests, this.what);
    await this.endStream();
    return { path: this.temp.path, size, digests };
  }

  /**
   * Stops writing and removes whatever reached the disk; when no attempt got as far as the disk
   * there is nothing to remove and no filesystem call, so a failure reaches the pipeline at once.
   */
  async discard(): Promise<void> {
    this.chunks = [];
    const stream = this.stream;
    if (stream !== undefined && !stream.closed) {
      await new Promise<void>((resolve) => {
        stream.once('close', resolve);
        stream.destroy();
      });
    }
    if (this.temp.created) await fs.promises.rm(this.temp.path, { force: true });
  }

  private openStream(): void {
    this.temp.created = true;
    const stream = createWriteStream(this.temp.path, { highWaterMark: STREAM_HIGH_WATER_MARK });
    stream.on('error', (error) => {
      if (this.streamError !== undefined) return;
      this.streamError = error;
      this.onStreamError(this.storageError(error));
    });
    const digests = new StreamingDigests(this.expected.digests);
    this.digests = digests;
    this.stream = stream;
    for (const chunk of this.chunks) {
      digests.update(chunk);
      this.streamWrite(chunk);
    }
    this.chunks = [];
  }

  private streamWrite(chunk: Buffer): boolean {
    const stream = this.stream!;
    const onDisk = this.expected.onDisk;
    if (onDisk === undefined) return stream.write(chunk);
    return stream.write(chunk, (error) => {
      if (!error) onDisk(stream.bytesWritten, this.temp.path);
    });
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

