import { createWriteStream, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import type { DigestAlgorithm, Digests } from '@tributary/plugin-api';
import { StreamingDigests } from './streaming-digests.js';

/**
 * A file written chunk by chunk (created or truncated) and hashed as it is written: sha256 and
 * the algorithms it was opened with. Where the writing and hashing happen is its own affair (the
 * storage's writer thread, or this thread when there is none).
 */
export interface HashingFileStream {
  /** Takes a chunk, which must not change afterwards (it may be kept until written); false means "pause until {@link onDrain}". */
  write(chunk: Uint8Array): boolean;
  /** Calls `resume` once fewer bytes wait to be written than the stream allows. */
  onDrain(resume: () => void): void;
  /** Once every chunk is written: closes the file and resolves with the digests of all of it. */
  end(): Promise<Digests & { sha256: string }>;
  /** Stops writing, closes and removes the file; resolves once nothing of the stream is left. */
  destroy(): Promise<void>;
}

/** What a {@link HashingFileStream} tells its owner while it writes. */
export interface HashingFileStreamEvents {
  /** The file holds its first `bytes` bytes. */
  readonly onWritten?: (bytes: number) => void;
  /** Writing failed while chunks were still coming (`end` fails with it too); called at most once. */
  readonly onError: (error: Error) => void;
}

const HIGH_WATER_MARK = 1024 * 1024;

/** The algorithms besides sha256 that `expected` names. */
export function otherAlgorithms(expected: Digests): DigestAlgorithm[] {
  return (Object.keys(expected) as DigestAlgorithm[]).filter((algorithm) => algorithm !== 'sha256' && expected[algorithm] !== undefined);
}

/** A {@link HashingFileStream} on the calling thread: a write stream and hash objects. */
export class LocalHashingFileStream implements HashingFileStream {
  private readonly stream: WriteStream;
  private readonly digests: StreamingDigests;
  private failure: Error | undefined;

  constructor(
    private readonly file: string,
    algorithms: readonly DigestAlgorithm[],
    private readonly events: HashingFileStreamEvents,
  ) {
    const expected: Digests = {};
    for (const algorithm of algorithms) expected[algorithm] = '';
    this.digests = new StreamingDigests(expected);
    this.stream = createWriteStream(file, { highWaterMark: HIGH_WATER_MARK });
    this.stream.on('error', (error) => {
      if (this.failure !== undefined) return;
      this.failure = error;
      events.onError(error);
    });
  }

  write(chunk: Uint8Array): boolean {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.digests.update(buffer);
    const onWritten = this.events.onWritten;
    if (onWritten === undefined) return this.stream.write(buffer);
    const stream = this.stream;
    return stream.write(buffer, (error) => {
      if (!error) onWritten(stream.bytesWritten);
    });
  }

  onDrain(resume: () => void): void {
    this.stream.once('drain', resume);
  }

  end(): Promise<Digests & { sha256: string }> {
    return new Promise((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure);
      this.stream.once('error', reject);
      this.stream.end((error?: Error | null) => (error ? reject(error) : resolve(this.digests.digest())));
    });
  }

  async destroy(): Promise<void> {
    const stream = this.stream;
    if (!stream.closed) {
      await new Promise<void>((resolve) => {
        stream.once('close', resolve);
        stream.destroy();
      });
    }
    await fs.rm(this.file, { force: true });
  }
}
