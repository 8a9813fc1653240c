import fs from 'node:fs';
import { debuglog } from 'node:util';
import { Worker } from 'node:worker_threads';
import { builtThreadScript } from '../thread-script.js';

const debug = debuglog('tributary:storage');

/** A request to the writer thread. */
export type SmallFileJob =
  | { readonly id: number; readonly op: 'write'; readonly file: string; readonly body: ArrayBuffer }
  | { readonly id: number; readonly op: 'rename'; readonly from: string; readonly to: string };

/** The thread's answer to a batch: `[id, errno code or '', message or '']` per failed job, id alone per done one. */
export type SmallFileReply = readonly (number | string)[];

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
 * The thread starts once a few files were asked for, and never keeps the process alive. Without its script (the host
 * bundled into one file) or once it failed, the same work is done with callback `fs` calls; a
 * failure of the thread itself fails the requests it held with the error that stopped it.
 */
export class SmallFileWriter {
  private workers: Worker[] = [];
  /** The threads that have started running: until one has, batches are done here (see flush). */
  private ready: Worker[] = [];
  private unavailable = false;
  private closed = false;
  private queue: SmallFileJob[] = [];
  private scheduled = false;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(): void; reject(error: Error): void }>();
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
   * Writes `body` to `file` (created or truncated); on failure no part of it is left there.
   * `transfer`: the caller gives `body` up, and if it spans all of its memory that memory is moved
   * to the thread instead of copied (the caller's view is then empty).
   */
  write(file: string, body: Uint8Array, options: { readonly transfer?: boolean } = {}): Promise<void> {
    if (this.soonHere() || !this.threadUsable()) return writeWhole(file, body);
    const whole = options.transfer === true && body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer;
    let memory: ArrayBuffer;
    if (whole) memory = body.buffer as ArrayBuffer;
    else {
      // a copy: the caller's buffer may be a view into memory others use, and a transfer would detach it
      const copy = new Uint8Array(body.length);
      copy.set(body);
      memory = copy.buffer;
    }
    return this.enqueue((id) => ({ id, op: 'write', file, body: memory }));
  }

  /** Renames `from` to `to`, replacing what is there (rename(2)); errors keep their errno `code`. */
  rename(from: string, to: string): Promise<void> {
    if (this.soonHere() || !this.threadUsable()) return fs.promises.rename(from, to);
    return this.enqueue((id) => ({ id, op: 'rename', from, to }));
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
      for (let i = 0; i < Math.max(1, this.threads); i++) {
        const worker = new Worker(this.script);
        worker.unref();
        worker.once('online', () => {
          if (this.workers.includes(worker)) this.ready.push(worker);
        });
        worker.on('message', (reply: SmallFileReply) => this.settle(reply));
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

  private enqueue(job: (id: number) => SmallFileJob): Promise<void> {
    const id = this.nextId++;
    this.queue.push(job(id));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // while requests are out, the threads' answers must be able to keep the process alive
      if (this.pending.size === 1) for (const worker of this.workers) worker.ref();
    });
  }

  /** Sends what was asked for in this turn, split evenly between the threads. */
  private flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const jobs = this.queue;
    this.queue = [];
    // A thread takes tens of milliseconds to start; waiting for it would hold up the first files
    // (a no-change sync's only one), so what comes before it runs is written the ordinary way.
    const workers = this.ready;
    if (workers.length === 0) {
      for (const job of jobs) this.runHere(job);
      return;
    }
    const share = Math.ceil(jobs.length / workers.length);
    workers.forEach((worker, i) => {
      const part = jobs.slice(i * share, (i + 1) * share);
      if (part.length === 0) return;
      const transfers: ArrayBuffer[] = [];
      for (const job of part) if (job.op === 'write') transfers.push(job.body);
      worker.postMessage(part, transfers);
    });
  }

  private settle(reply: SmallFileReply): void {
    for (let i = 0; i < reply.length; ) {
      const id = reply[i++] as number;
      const failed = id < 0;
      const waiter = this.pending.get(Math.abs(id));
      this.pending.delete(Math.abs(id));
      if (failed) {
        const code = reply[i++] as string;
        const message = reply[i++] as string;
        waiter?.reject(Object.assign(new Error(message), code ? { code } : {}));
      } else waiter?.resolve();
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
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
    this.nothingPending();
  }

  /** A job queued before a thread ran, or while the threads went away: done with callback fs instead. */
  private runHere(job: SmallFileJob): void {
    const waiter = this.pending.get(job.id);
    this.pending.delete(job.id);
    // the fs calls below keep the process alive; the threads need not, nor need close() wait
    if (this.pending.size === 0) this.nothingPending();
    const done = job.op === 'write' ? writeWhole(job.file, new Uint8Array(job.body)) : fs.promises.rename(job.from, job.to);
    done.then(
      () => waiter?.resolve(),
      (error: Error) => waiter?.reject(error),
    );
  }
}

/** open + write (as often as needed) + close with callback fs; a failed write removes the file. */
export function writeWhole(file: string, body: Uint8Array): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    fs.open(file, 'w', (openError, fd) => {
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

/** The built thread entry of {@link SmallFileWriter}, if there is one (see {@link builtThreadScript}). */
export function smallFileWriterScript(): string | undefined {
  return builtThreadScript(__dirname, 'small-file-writer-thread.js');
}
