import fs from 'node:fs';
import path from 'node:path';
import { debuglog } from 'node:util';
import type { Worker } from 'node:worker_threads';
import { startThread, type DigestAlgorithm, type Digests } from '@tributary/plugin-api';
import { builtThreadScript } from '../thread-script.js';
import { digestsMatch, digestsOf } from './body-digests.js';
import { BodyMemory } from './body-memory.js';
import { LocalHashingFileStream, type HashingFileStream, type HashingFileStreamEvents } from './hashing-file-stream.js';
import { SLAB_BYTES, ThreadHashingFileStream, type Slab, type WriterThreadChannel } from './thread-hashing-file-stream.js';
import type { MovedBody, WriterJob, WriterReply, WriterThreadData, WriterValue } from './writer-thread-protocol.js';

const debug = debuglog('tributary:storage');
/** Slabs of the memory shared with the threads: enough for a dozen streams at their bound (see ThreadHashingFileStream). */
const SHARED_SLABS = 64;

/** A body's digests, and whether it was written (only when they matched the expected ones). */
export interface HashedWrite {
  readonly digests: Digests & { sha256: string };
  readonly written: boolean;
}

/**
 * Writes small files and renames files on a thread of its own, with synchronous calls, a batch of
 * requests per turn of the event loop.
 *
 * Written the ordinary way, each small downloaded file costs four thread-pool round trips (open,
 * write, close, then the rename into storage), and every completion runs on the pipeline's
 * thread, the one that also downloads and hashes. Handing them to one thread, one message per
 * turn, takes those round trips off the pipeline's thread, so the storage sends what the downloader
 * holds in memory here, and the renames of a batch of files too (figures in docs/performance.md).
 *
 * It also hashes: a body held in memory before it is written ({@link writeHashed}), and the chunks
 * of a large one it writes as they arrive ({@link stream}), so the pipeline's thread neither hashes
 * nor waits on a write stream.
 *
 * The thread starts once a few files were asked for, and never keeps the process alive. Without its script (the host bundled into one file) or once it failed, the same
 * work is done with callback `fs` calls (and hashed here); a failure of the thread itself fails the
 * requests it held with the error that stopped it.
 */
export class SmallFileWriter {
  private workers: Worker[] = [];
  /** The threads that have started running: until one has, batches are done here (see flush). */
  private ready: Worker[] = [];
  private unavailable = false;
  private closed = false;
  private queue: WriterJob[] = [];
  private scheduled = false;
  private nextId = 1;
  private nextStream = 1;
  private readonly pending = new Map<number, { resolve(value: WriterValue | undefined): void; reject(error: Error): void }>();
  /** The thread (index into `ready`) each open stream's jobs go to, so they stay in order. */
  private readonly streamThreads = new Map<number, number>();
  /** Memory shared with the threads that streams copy chunks into, made with them; its slabs not in use. */
  private shared: SharedArrayBuffer | undefined;
  private freeSlabs: number[] = [];
  private readonly channel: WriterThreadChannel = {
    send: (job) => this.enqueue(job),
    slab: () => {
      const index = this.freeSlabs.pop();
      if (index !== undefined && this.shared !== undefined) return { index, bytes: new Uint8Array(this.shared, index * SLAB_BYTES, SLAB_BYTES) };
      return { index: -1, bytes: new Uint8Array(SLAB_BYTES) };
    },
    release: (slab: Slab) => {
      if (slab.index >= 0 && this.shared !== undefined) this.freeSlabs.push(slab.index);
    },
    streamId: () => this.nextStream++,
  };
  /** Memory whole bodies are gathered in and moved to the threads, which send it back. */
  private readonly memory = new BodyMemory();
  /** Woken when nothing is pending any more (close waits for it). */
  private drained: (() => void)[] = [];

  private readonly script: string | undefined;
  private readonly threads: number;
  /** Requests done here before a thread is started (see the constructor). */
  private readonly startAfter: number;
  private requests = 0;

  /**
   * @param options.script the thread's entry; `null`: no thread, callback fs only. Default: the
   *   built `small-file-writer-thread.js`, if there is one.
   * @param options.threads how many threads share each batch. One by default: two were no faster
   *   (file creation, not the thread, is what costs).
   * @param options.startAfter how many requests are done on the calling thread before the threads
   *   start (default 8): a sync that writes a file or two (a no-change sync writes repomd.xml) starts
   *   none, and one that writes many starts them once its downloads are under way, not beside the
   *   other threads a sync starts at its beginning.
   */
  constructor(options: { readonly script?: string | null; readonly threads?: number; readonly startAfter?: number } = {}) {
    this.script = options.script === null ? undefined : (options.script ?? smallFileWriterScript());
    this.threads = options.threads ?? 1;
    this.startAfter = options.startAfter ?? 8;
  }

  /**
   * Starts the threads now instead of on first use, and resolves once they run (at once without
   * them): what a caller about to hand over many files, or a test of the threads, may want.
   */
  async start(): Promise<void> {
    if (!this.threadUsable()) return;
    const starting = this.workers.filter((worker) => !this.ready.includes(worker));
    await Promise.all(starting.map((worker) => new Promise<void>((resolve) => {
      const done = () => {
        worker.off('online', done);
        worker.off('exit', done);
        resolve();
      };
      worker.on('online', done);
      worker.on('exit', done);
    })));
  }

  /**
   * Writes `body` to `file` (created or truncated, and its directory if missing); on failure no
   * part of it is left there.
   * `transfer`: the caller gives `body` up, and if it spans all of its memory that memory is moved
   * to the thread instead of copied (the caller's view is then empty).
   */
  write(file: string, body: Uint8Array, options: { readonly transfer?: boolean } = {}): Promise<void> {
    if (this.soonHere() || !this.threadUsable()) return this.returning(writeWhole(file, body), body.buffer, options.transfer);
    const moved = this.movable(body, options.transfer === true);
    return this.enqueue((id) => ({ id, op: 'write', file, ...moved })).then(() => undefined);
  }

  /**
   * `size` bytes of memory to gather a body in before handing it to {@link write} or
   * {@link writeHashed} with `transfer`: memory the threads gave back, so that a body costs no new
   * memory (see {@link BodyMemory}).
   */
  bodyMemory(size: number): Uint8Array<ArrayBuffer> {
    return this.memory.take(size);
  }

  /**
   * Hashes `body` (sha256 and each algorithm `expected` names) and writes it to `file` (as
   * {@link write} does) only if every expected digest matches, so a body that does not match never reaches the disk. Written,
   * it is all there or, on failure, not at all. `transfer` as for {@link write}.
   */
  writeHashed(file: string, body: Uint8Array, expected: Digests, options: { readonly transfer?: boolean } = {}): Promise<HashedWrite> {
    if (this.soonHere() || !this.threadUsable()) return this.returning(writeHashedHere(file, body, expected), body.buffer, options.transfer);
    const moved = this.movable(body, options.transfer === true);
    return this.enqueue((id) => ({ id, op: 'write-hashed', file, expected, ...moved })).then((value) => ({
      digests: value!.digests,
      written: value!.written === true,
    }));
  }

  /**
   * Creates (or truncates) `file` for a body written chunk by chunk and hashed with sha256 and
   * `algorithms` (see {@link HashingFileStream}): on the thread once it runs, else here with a write
   * stream: when it is one of the first few requests (an on_demand sync's one large index starts no
   * thread), and while the thread starts, which would otherwise hold up the transfer.
   */
  stream(file: string, algorithms: readonly DigestAlgorithm[], events: HashingFileStreamEvents): HashingFileStream {
    if (this.soonHere() || !this.threadUsable() || this.ready.length === 0) return new LocalHashingFileStream(file, algorithms, events);
    return new ThreadHashingFileStream(this.channel, file, algorithms, events);
  }

  /** Renames `from` to `to`, replacing what is there (rename(2)); errors keep their errno `code`. */
  rename(from: string, to: string): Promise<void> {
    if (this.soonHere() || !this.threadUsable()) return fs.promises.rename(from, to);
    return this.enqueue((id) => ({ id, op: 'rename', from, to })).then(() => undefined);
  }

  /** Ends the threads once they have answered what they were sent; later calls do the work here. */
  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers;
    if (workers.length === 0) return;
    this.flush();
    if (this.pending.size > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
    this.workers = [];
    this.ready = [];
    this.dropShared();
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  /** One of the first requests, before any thread started: done here. */
  private soonHere(): boolean {
    return this.workers.length === 0 && ++this.requests <= this.startAfter;
  }

  private threadUsable(): boolean {
    if (this.unavailable || this.closed) return false;
    if (this.workers.length > 0) return true;
    if (this.script === undefined) {
      this.unavailable = true;
      return false;
    }
    try {
      // address space only until a stream touches it
      this.shared = new SharedArrayBuffer(SHARED_SLABS * SLAB_BYTES);
      this.freeSlabs = Array.from({ length: SHARED_SLABS }, (_, i) => SHARED_SLABS - 1 - i);
      const workerData: WriterThreadData = { slabs: this.shared, slabBytes: SLAB_BYTES };
      for (let i = 0; i < Math.max(1, this.threads); i++) {
        const worker = startThread(this.script, { workerData });
        worker.unref();
        worker.once('online', () => {
          if (!this.workers.includes(worker)) return;
          this.ready.push(worker);
          // stream jobs wait for a thread (see flush)
          if (this.queue.length > 0) this.flush();
        });
        worker.on('message', (reply: WriterReply) => this.settle(reply));
        worker.on('error', (error) => this.fail(error));
        worker.on('exit', (code) => {
          if (this.workers.includes(worker)) this.fail(new Error(`a file writer thread exited (code ${code})`));
        });
        this.workers.push(worker);
      }
    } catch (error) {
      this.fail(error as Error);
      return false;
    }
    return true;
  }

  private enqueue(job: (id: number) => WriterJob): Promise<WriterValue | undefined> {
    const id = this.nextId++;
    this.queue.push(job(id));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return new Promise<WriterValue | undefined>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // while requests are out, the threads' answers must be able to keep the process alive
      if (this.pending.size === 1) for (const worker of this.workers) worker.ref();
    });
  }

  /**
   * Sends what was asked for in this turn, split evenly between the threads; a stream's jobs all
   * go to the thread its first one went to.
   */
  private flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const jobs = this.queue;
    this.queue = [];
    // A thread takes tens of milliseconds to start; waiting for it would hold up the first files
    // (a no-change sync's only one), so what comes before it runs is written the ordinary way.
    // A stream's jobs cannot be (its file and hashes live on a thread): they wait for one.
    const workers = this.ready;
    if (workers.length === 0) {
      // held only while a thread starts: once the threads are gone (failed, closed) they fail here
      const starting = this.workers.length > 0;
      for (const job of jobs) {
        if ('stream' in job && starting) this.queue.push(job);
        else this.runHere(job);
      }
      return;
    }
    const parts: WriterJob[][] = workers.map(() => []);
    const files = jobs.filter((job) => !('stream' in job));
    const share = Math.ceil(files.length / workers.length);
    let next = 0;
    for (const job of jobs) {
      if (!('stream' in job)) {
        parts[Math.floor(next++ / share)]!.push(job);
        continue;
      }
      let thread = this.streamThreads.get(job.stream);
      if (thread === undefined) this.streamThreads.set(job.stream, (thread = job.stream % workers.length));
      if (job.op === 'end' || job.op === 'abort') this.streamThreads.delete(job.stream);
      parts[thread]!.push(job);
    }
    workers.forEach((worker, i) => {
      const part = parts[i]!;
      if (part.length === 0) return;
      const transfers: ArrayBuffer[] = [];
      for (const job of part) if ('body' in job && job.body !== undefined) transfers.push(job.body);
      worker.postMessage(part, transfers);
    });
  }

  private settle(reply: WriterReply): void {
    for (const memory of reply.memory) this.memory.give(memory);
    for (const answer of reply.answers) {
      const id = answer[0];
      const waiter = this.pending.get(Math.abs(id));
      this.pending.delete(Math.abs(id));
      if (id < 0) {
        const [, code, message] = answer as readonly [number, string, string];
        waiter?.reject(Object.assign(new Error(message), code ? { code } : {}));
      } else waiter?.resolve(answer[1] as WriterValue | undefined);
    }
    if (this.pending.size === 0) this.nothingPending();
  }

  private nothingPending(): void {
    for (const worker of this.workers) worker.unref();
    for (const wake of this.drained.splice(0)) wake();
  }

  /** A thread failed: what was sent fails with that error; from now on the work is done here. */
  private fail(error: Error): void {
    if (this.unavailable) return;
    this.unavailable = true;
    debug('file writer thread failed (%s); writing on the calling thread from now on', error.message);
    const workers = this.workers;
    this.workers = [];
    this.ready = [];
    for (const worker of workers) void worker.terminate();
    // what was asked for and not sent fails too, rather than being done later for no one
    this.queue = [];
    this.streamThreads.clear();
    this.dropShared();
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
    this.nothingPending();
  }

  /** No slab of the shared memory is handed out any more (the threads that shared it are going). */
  private dropShared(): void {
    this.shared = undefined;
    this.freeSlabs = [];
  }

  /** A job queued before a thread ran, or after the threads went: done with callback fs instead (a stream's, but its abort, fail). */
  private runHere(job: WriterJob): void {
    const waiter = this.pending.get(job.id);
    this.pending.delete(job.id);
    // the fs calls below keep the process alive; the threads need not, nor need close() wait
    if (this.pending.size === 0) this.nothingPending();
    const done = runJobHere(job);
    (job.op === 'write' || job.op === 'write-hashed' ? this.returning(done, job.body, job.recycle) : done).then(
      (value) => waiter?.resolve(value),
      (error: Error) => waiter?.reject(error),
    );
  }

  /**
   * The caller's body as memory to move to a thread: the caller's own when it gives the body up
   * and it is memory of {@link bodyMemory} (it comes back) or spans all of its memory; else a copy
   * in memory of {@link bodyMemory} (a view into memory others use would be detached by a move).
   */
  private movable(body: Uint8Array, transfer: boolean): MovedBody {
    const buffer = body.buffer;
    if (transfer && body.byteOffset === 0) {
      if (this.memory.owns(buffer)) return { body: buffer, length: body.length, recycle: true };
      if (body.byteLength === buffer.byteLength && buffer instanceof ArrayBuffer) return { body: buffer, length: body.length };
    }
    const copy = this.memory.take(body.length);
    copy.set(body);
    return { body: copy.buffer, length: body.length, ...(this.memory.owns(copy.buffer) ? { recycle: true as const } : {}) };
  }

  /** `written`, after which a body's memory given up goes back to {@link bodyMemory} if it came from there. */
  private returning<T>(written: Promise<T>, memory: ArrayBufferLike, givenUp: boolean | undefined): Promise<T> {
    if (givenUp !== true || !this.memory.owns(memory)) return written;
    const giveBack = () => this.memory.give(memory);
    written.then(giveBack, giveBack);
    return written;
  }
}

async function runJobHere(job: WriterJob): Promise<WriterValue | undefined> {
  switch (job.op) {
    case 'write':
      return writeWhole(job.file, new Uint8Array(job.body, 0, job.length)).then(() => undefined);
    case 'write-hashed':
      return writeHashedHere(job.file, new Uint8Array(job.body, 0, job.length), job.expected);
    case 'rename':
      return fs.promises.rename(job.from, job.to).then(() => undefined);
    case 'abort':
      // the thread that had the file open is gone: what it wrote goes all the same
      return fs.promises.rm(job.file, { force: true }).then(() => undefined);
    default:
      throw new Error(`a ${job.op} job needs the writer thread`);
  }
}

/** Hashes `body` here and writes it whole to `file` only if every expected digest matches. */
export function writeHashedHere(file: string, body: Uint8Array, expected: Digests): Promise<HashedWrite> {
  const digests = digestsOf(body, expected);
  if (!digestsMatch(expected, digests)) return Promise.resolve({ digests, written: false });
  return writeWhole(file, body).then(() => ({ digests, written: true }));
}

/**
 * open + write (as often as needed) + close with callback fs; a failed write removes the file. A
 * missing directory is created, as on the writer thread.
 */
export function writeWhole(file: string, body: Uint8Array): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    openCreatingDir(file, (openError, fd) => {
      if (openError) return reject(openError);
      const finish = (error: Error | null): void => {
        fs.close(fd, (closeError) => {
          const failure = error ?? closeError;
          if (failure) fs.rm(file, { force: true }, () => reject(failure));
          else resolve();
        });
      };
      const writeFrom = (offset: number): void => {
        if (offset >= body.length) return finish(null);
        fs.write(fd, body, offset, body.length - offset, null, (writeError, written) => {
          if (writeError) return finish(writeError);
          writeFrom(offset + written);
        });
      };
      writeFrom(0);
    });
  });
}

function openCreatingDir(file: string, callback: (error: NodeJS.ErrnoException | null, fd: number) => void): void {
  fs.open(file, 'w', (error, fd) => {
    if (error?.code !== 'ENOENT') return callback(error, fd);
    fs.mkdir(path.dirname(file), { recursive: true }, (mkdirError) => {
      if (mkdirError) callback(mkdirError, -1);
      else fs.open(file, 'w', callback);
    });
  });
}

/** The built thread entry of {@link SmallFileWriter}, if there is one (see {@link builtThreadScript}). */
export function smallFileWriterScript(): string | undefined {
  return builtThreadScript(__dirname, 'small-file-writer-thread.js');
}
