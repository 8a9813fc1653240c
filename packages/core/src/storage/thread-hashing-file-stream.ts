import fs from 'node:fs/promises';
import type { DigestAlgorithm, Digests } from '@tributary/plugin-api';
import type { HashingFileStream, HashingFileStreamEvents } from './hashing-file-stream.js';
import type { WriterJob, WriterValue } from './writer-thread-protocol.js';

/** The bytes one `append` carries: large enough that messages are few, small enough to keep the thread fed. */
export const SLAB_BYTES = 256 * 1024;
/** Bytes a stream may have copied but not yet written before it asks its source to pause. */
const MAX_OUTSTANDING = 1024 * 1024;

/**
 * Memory of {@link SLAB_BYTES} to copy chunks into: slab `index` of the memory shared with the
 * thread, or, with index -1 (all of those in use), memory of its own, moved to the thread with its job.
 */
export interface Slab {
  readonly bytes: Uint8Array;
  readonly index: number;
}

/** What a {@link ThreadHashingFileStream} needs of the writer thread's owner. */
export interface WriterThreadChannel {
  /** Queues a job (its `body`, if any, moved to the thread); resolves with the job's answer. */
  send(job: (id: number) => WriterJob): Promise<WriterValue | undefined>;
  slab(): Slab;
  /** Gives a slab back once the thread is done with it (answered its job) or it was never sent. */
  release(slab: Slab): void;
  /** A number no other stream of this writer has. */
  streamId(): number;
}

/**
 * A {@link HashingFileStream} whose writing and hashing happen on the storage's writer thread:
 * chunks are copied into slabs of {@link SLAB_BYTES} of memory shared with the thread, each handed
 * to it when full (or, when the owner follows progress, at the end of the event loop's turn) and
 * reused once written. The calling thread is left with one copy per chunk and no memory to allocate
 * (new memory there, moved or not, counts towards its next full collection), and the bytes waiting
 * for the thread are bounded by {@link MAX_OUTSTANDING}.
 */
export class ThreadHashingFileStream implements HashingFileStream {
  private readonly id: number;
  private slab: Slab | undefined;
  private filled = 0;
  /** Bytes moved to the thread, and of those, bytes it wrote. */
  private sent = 0;
  private written = 0;
  private failure: Error | undefined;
  private destroyed = false;
  private drainWaiters: (() => void)[] = [];
  private partialScheduled = false;

  constructor(
    private readonly channel: WriterThreadChannel,
    private readonly file: string,
    algorithms: readonly DigestAlgorithm[],
    private readonly events: HashingFileStreamEvents,
  ) {
    this.id = channel.streamId();
    const stream = this.id;
    this.track(channel.send((id) => ({ id, op: 'open', stream, file, algorithms })));
  }

  write(chunk: Uint8Array): boolean {
    for (let offset = 0; offset < chunk.length; ) {
      const slab = (this.slab ??= this.channel.slab()).bytes;
      const length = Math.min(chunk.length - offset, slab.length - this.filled);
      slab.set(length === chunk.length ? chunk : chunk.subarray(offset, offset + length), this.filled);
      this.filled += length;
      offset += length;
      if (this.filled === slab.length) this.sendSlab();
    }
    // a reader following the file would otherwise wait for a slab to fill
    if (this.filled > 0 && this.events.onWritten !== undefined && !this.partialScheduled) {
      this.partialScheduled = true;
      setImmediate(() => {
        this.partialScheduled = false;
        if (this.filled > 0 && !this.destroyed) this.sendPart();
      });
    }
    return this.waiting() < MAX_OUTSTANDING;
  }

  onDrain(resume: () => void): void {
    if (this.waiting() < MAX_OUTSTANDING) resume();
    else this.drainWaiters.push(resume);
  }

  async end(): Promise<Digests & { sha256: string }> {
    if (this.filled > 0) this.sendSlab();
    const stream = this.id;
    const value = await this.channel.send((id) => ({ id, op: 'end', stream }));
    if (this.failure !== undefined) throw this.failure;
    return value!.digests;
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.slab !== undefined) this.channel.release(this.slab);
    this.slab = undefined;
    this.drainWaiters = [];
    const stream = this.id;
    const file = this.file;
    // without the thread (it failed), the file is removed here
    await this.channel.send((id) => ({ id, op: 'abort', stream, file })).catch(() => fs.rm(file, { force: true }));
  }

  private waiting(): number {
    return this.sent - this.written + this.filled;
  }

  /**
   * Hands on what the slab holds so far: the slab itself when mostly full, else a copy, the slab
   * kept to go on filling (a slab a turn for a slowly arriving body would use up the shared ones).
   */
  private sendPart(): void {
    const slab = this.slab!;
    if (this.filled * 4 >= slab.bytes.length) return this.sendSlab();
    const body = slab.bytes.slice(0, this.filled);
    this.filled = 0;
    this.sendSlab({ index: -1, bytes: body }, body.length);
  }

  private sendSlab(slab: Slab = this.slab!, length = this.filled): void {
    if (slab === this.slab) {
      this.slab = undefined;
      this.filled = 0;
    }
    this.sent += length;
    const stream = this.id;
    const job = (id: number): WriterJob =>
      slab.index >= 0 ? { id, op: 'append', stream, slab: slab.index, length } : { id, op: 'append', stream, slab: -1, body: slab.bytes.buffer as ArrayBuffer, length };
    const appended = this.channel.send(job);
    void appended.then(
      () => this.channel.release(slab),
      () => this.channel.release(slab),
    );
    this.track(
      appended.then(() => {
        this.written += length;
        if (this.destroyed) return;
        this.events.onWritten?.(this.written);
        if (this.drainWaiters.length > 0 && this.waiting() < MAX_OUTSTANDING) for (const resume of this.drainWaiters.splice(0)) resume();
      }),
    );
  }

  private track(done: Promise<unknown>): void {
    done.catch((error: Error) => {
      if (this.failure !== undefined || this.destroyed) return;
      this.failure = error;
      this.events.onError(error);
    });
  }
}
