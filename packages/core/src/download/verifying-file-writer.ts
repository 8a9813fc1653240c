import fs from 'node:fs';
import { ErrorCodes, TributaryError, type DigestAlgorithm, type Digests, type DownloadedFile } from '@tributary/plugin-api';
import { LocalHashingFileStream, otherAlgorithms, type HashingFileStream, type HashingFileStreamEvents } from '../storage/hashing-file-stream.js';
import { writeHashedHere } from '../storage/small-file-writer.js';
import { verifyDigests, verifySize } from '../storage/streaming-digests.js';

/**
 * Files up to this size are kept in memory, hashed whole and written with one write (by the
 * storage's writer thread): no stream, no hash object, and none of a stream's three thread-pool
 * round trips (open, write, close) per file, each of which wakes a thread that takes the core
 * from the downloading one on a small machine. Downloads held at once are bounded (see
 * ArtifactDownloader), so this bounds their memory too.
 */
const MEMORY_LIMIT = 1024 * 1024;

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
 * Where a writer puts a body on disk, and who hashes it. By default at the temporary file's path,
 * hashed on the calling thread; the host's downloader has the storage do both: a body held in
 * memory is hashed and staged beside its content address by the writer thread
 * ({@link ArtifactStorage.stageBody}), a larger one streamed to that thread
 * ({@link ArtifactStorage.streamTempFile}).
 */
export interface BodyFiles {
  /**
   * Hashes a body held in memory (sha256 and each algorithm `expected` names) and puts it on disk
   * only if every expected digest matches; says where (no `file`: it did not match, nothing was
   * written). On failure no part of it may be left behind. `owned`: nothing else refers to the
   * body's memory (it was joined from the chunks), so it may be taken rather than copied.
   */
  writeMatching(temp: string, body: Uint8Array, expected: Digests, owned: boolean): Promise<{ file?: string; digests: Digests & { sha256: string } }>;
  /** A stream to `temp` hashed with sha256 and `algorithms` as it is written. */
  stream(temp: string, algorithms: readonly DigestAlgorithm[], events: HashingFileStreamEvents): HashingFileStream;
  /** Memory to join a body of `size` bytes in before {@link writeMatching} takes it (owned); new memory without it. */
  bodyMemory?(size: number): Uint8Array;
}

const atTempPath: BodyFiles = {
  async writeMatching(temp, body, expected) {
    const { digests, written } = await writeHashedHere(temp, body, expected);
    return written ? { file: temp, digests } : { digests };
  },
  stream: (temp, algorithms, events) => new LocalHashingFileStream(temp, algorithms, events),
};

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
 * memory and, on `finish()`, hashed and written in one go only if they match, so a mismatching
 * small body never touches the disk; large ones are hashed as they stream to disk through a
 * {@link HashingFileStream} whose back-pressure the caller honours.
 */
export class VerifyingFileWriter {
  private chunks: Buffer[] = [];
  private received = 0;
  /** Once the body streams to disk. */
  private file: HashingFileStream | undefined;
  private fileError: Error | undefined;
  /** Called once if writing to disk fails while the body still streams, so the transfer can stop. */
  onStreamError: (error: TributaryError) => void = () => {};

  constructor(
    private readonly temp: TempFile,
    private readonly expected: WriteExpectation,
    private readonly what: string,
    private readonly files: BodyFiles = atTempPath,
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
    if (this.file === undefined) {
      if (total <= MEMORY_LIMIT) {
        this.chunks.push(chunk);
        return true;
      }
      this.openStream();
    }
    return this.file!.write(chunk);
  }

  onDrain(resume: () => void): void {
    if (this.file === undefined) resume();
    else this.file.onDrain(resume);
  }

  /** Verifies size and digests and completes the file. The writer is done either way. */
  async finish(): Promise<DownloadedFile> {
    const size = this.received;
    verifySize(this.expected.size, size, this.what);
    if (this.file === undefined) {
      const owned = this.chunks.length !== 1;
      const body = owned ? this.joined(size) : this.chunks[0]!;
      this.chunks = [];
      this.temp.created = true;
      const { file, digests } = await this.files.writeMatching(this.temp.path, body, this.expected.digests, owned).catch((error: Error) => {
        throw this.storageError(error);
      });
      verifyDigests(this.expected.digests, digests, this.what);
      return { path: file!, size, digests };
    }
    if (this.fileError !== undefined) throw this.storageError(this.fileError);
    const digests = await this.file.end().catch((error: Error) => {
      throw this.storageError(error);
    });
    verifyDigests(this.expected.digests, digests, this.what);
    return { path: this.temp.path, size, digests };
  }

  /**
   * Stops writing and removes whatever reached the disk; when no attempt got as far as the disk
   * there is nothing to remove and no filesystem call, so a failure reaches the pipeline at once.
   */
  async discard(): Promise<void> {
    this.chunks = [];
    const file = this.file;
    if (file !== undefined) await file.destroy();
    else if (this.temp.created) await fs.promises.rm(this.temp.path, { force: true });
  }

  /** The chunks joined in memory of their own. */
  private joined(size: number): Uint8Array {
    const body = this.files.bodyMemory?.(size) ?? new Uint8Array(size);
    let offset = 0;
    for (const chunk of this.chunks) {
      body.set(chunk, offset);
      offset += chunk.length;
    }
    return body;
  }

  private openStream(): void {
    this.temp.created = true;
    const onDisk = this.expected.onDisk;
    const path = this.temp.path;
    const file = this.files.stream(path, otherAlgorithms(this.expected.digests), {
      ...(onDisk !== undefined ? { onWritten: (bytes: number) => onDisk(bytes, path) } : {}),
      onError: (error) => {
        this.fileError ??= error;
        this.onStreamError(this.storageError(error));
      },
    });
    this.file = file;
    for (const chunk of this.chunks) file.write(chunk);
    this.chunks = [];
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
