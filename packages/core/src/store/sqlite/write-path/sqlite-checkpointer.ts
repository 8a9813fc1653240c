import { statSync } from 'node:fs';
import { debuglog } from 'node:util';
import type { Worker } from 'node:worker_threads';
import { startThread } from '@tributary/plugin-api';
import { builtThreadScript } from '../../../thread-script.js';

const debug = debuglog('tributary:sqlite');

/**
 * A log smaller than this (SQLite's own default autocheckpoint, 1,000 pages of 4 KiB) does not
 * start the thread: copying it costs less than starting one, and the writer's connection does it
 * when it closes. A short sync then ends without starting a thread just to copy its log once.
 */
const START_LOG_BYTES = 4 * 1024 * 1024;

/** What the checkpoint thread answers to each request. */
export type CheckpointReply =
  | { readonly ok: true; readonly busy: number; readonly log: number; readonly checkpointed: number }
  | { readonly ok: false; readonly message: string };

/**
 * Copies the catalog's write-ahead log back into the database file on a thread of its own.
 *
 * In WAL mode every commit appends pages to the log, and the connection whose commit takes the log
 * past `wal_autocheckpoint` pages copies them into the database file before that commit returns.
 * In a sync that connection is the catalog's, and the pipeline waits on the catalog: measured on a
 * 100,000-package rpm sync (2 cores), two such checkpoints held the catalog 160–240 ms each while
 * the other threads stood idle, ~9% of the sync's wall time.
 *
 * So the writing connection asks this one for a PASSIVE checkpoint after each group commit. A
 * passive checkpoint copies what is committed without taking any lock the writer or readers need,
 * so the writer goes on appending meanwhile, and its next transaction starts the log over from the
 * beginning once everything in it has been copied. The copying still costs CPU, but beside the
 * writer instead of in its way.
 *
 * The thread starts on the first request that finds the log past {@link START_LOG_BYTES}, so
 * opening a catalog to read it, or a short sync, costs no thread. If it
 * cannot start (the built script is missing) or a checkpoint fails, `onUnavailable` runs once and
 * the writer goes back to checkpointing itself.
 */
export class SqliteCheckpointer {
  private worker: Worker | undefined;
  private unavailable = false;
  private running = false;
  private again = false;
  private closing: Promise<void> | undefined;

  /** @param options.startLogBytes the log size from which a request starts the thread (default {@link START_LOG_BYTES}). */
  constructor(
    private readonly file: string,
    private readonly onUnavailable: () => void,
    options: { readonly startLogBytes?: number } = {},
  ) {
    this.startLogBytes = options.startLogBytes ?? START_LOG_BYTES;
  }

  private readonly startLogBytes: number;

  /** Asks for a checkpoint; one asked for while one runs follows it (never more than one queued). */
  request(): void {
    if (this.unavailable || this.closing) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.worker === undefined && logBytes(this.file) < this.startLogBytes) return;
    const worker = this.worker ?? this.start();
    if (worker === undefined) return;
    this.running = true;
    worker.postMessage('checkpoint');
  }

  /** Ends the thread after the checkpoint it is running, if any. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.stop();
    return this.closing;
  }

  private start(): Worker | undefined {
    const script = builtThreadScript(__dirname, 'sqlite-checkpoint-worker.js');
    if (script === undefined) {
      this.giveUp(`the checkpoint thread's script is missing next to ${__filename}`);
      return undefined;
    }
    const worker = startThread(script, { workerData: { file: this.file } });
    // a checkpoint is never a reason to keep the process alive
    worker.unref();
    worker.on('message', (reply: CheckpointReply) => this.settle(reply));
    worker.on('error', (error) => this.giveUp(`the checkpoint thread failed: ${error.message}`));
    worker.on('exit', () => {
      if (!this.closing) this.giveUp('the checkpoint thread exited');
    });
    this.worker = worker;
    return worker;
  }

  private settle(reply: CheckpointReply): void {
    this.running = false;
    if (!reply.ok) {
      this.giveUp(`a checkpoint failed: ${reply.message}`);
      return;
    }
    debug('checkpoint of %s: %d of %d log pages copied%s', this.file, reply.checkpointed, reply.log, reply.busy ? ' (busy)' : '');
    if (this.again) {
      this.again = false;
      this.request();
    }
  }

  private giveUp(why: string): void {
    if (this.unavailable) return;
    this.unavailable = true;
    debug('%s; %s checkpoints itself from now on', why, this.file);
    this.onUnavailable();
    void this.worker?.terminate();
    this.worker = undefined;
  }

  private async stop(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.worker = undefined;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref();
    // the thread handles 'close' after the checkpoint it may be running, then closes its connection
    worker.postMessage('close');
    await exited;
  }
}

/** The size of the catalog's write-ahead log, 0 when there is none. */
function logBytes(file: string): number {
  return statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0;
}
