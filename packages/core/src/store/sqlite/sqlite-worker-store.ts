import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import { ErrorCodes, errorData, errorFromData, startThread, TributaryError, type RepoUnitKey } from '@tributary/plugin-api';
import type { CatalogUnit, ContentStore, ProvenanceStore, RepoUnitView, StoreStats, UnitWrite, VersionChange } from '../content-store.js';
import { fingerprintUnits } from '../unit-columns.js';
import type { CatalogCursor, DiffCursor, OpenWork, SqliteContentStoreOptions } from './sqlite-content-store.js';
import { CatalogDispatch } from './thread/catalog-dispatch.js';
import { SQLITE_PIPELINE_BATCH } from './sqlite-pipeline-batch.js';
import { readCursorPages, readFingerprintPages, readPages } from './sqlite-page-streams.js';
import {
  WORKER_METHODS,
  type Encoded,
  type ForwardedMethods,
  type PagedMethod,
  type PageOf,
  type PageReaders,
  type WorkerMethod,
} from './thread/sqlite-worker-methods.js';
import { workerScript, type WorkerReply } from './thread/sqlite-worker-protocol.js';

/** Options of a {@link SqliteWorkerStore}: the catalog's own, and when it moves to its thread. */
export interface SqliteWorkerStoreOptions extends SqliteContentStoreOptions {
  /**
   * Start the catalog on the calling thread and move it to its own thread once its calls have
   * taken this many milliseconds of the calling thread (0: at the first call after `init`).
   * Absent, the catalog runs on its thread from the start. A command whose catalog work is a few
   * dozen calls (a sync that finds nothing new, or a small repository) then never pays for
   * starting a thread; one that turns out to be large moves after a short while.
   */
  readonly threadAfterMs?: number;
  /** Called once the catalog has moved to its thread (with `threadAfterMs`): the work turned out large. */
  readonly onThread?: () => void;
}

// the methods of SqliteWorkerStore made from WORKER_METHODS (in the static block), typed as the port has them
export interface SqliteWorkerStore extends ForwardedMethods {}

/**
 * The embedded catalog run on a thread of its own: the same {@link SqliteContentStore} (same file
 * format, same transactions), reached by messages. better-sqlite3 is synchronous, so in-process
 * every statement stops the sync's pipeline; on its own thread the catalog writes one batch while
 * the pipeline parses, compares and hashes the next, which on two cores is most of a sync's time.
 *
 * Requests run in the order they are made; each is one round trip in `stats`. Units do not cross
 * the thread boundary as objects: measured on a batch of 500 file units, structured-clone decoding
 * costs 6.1 µs a unit and JSON.parse 2.6 µs, while a flat list of strings costs next to nothing.
 * So this thread encodes units into their row's columns (`encodeUnits`, work that needs
 * nothing stored), associate sends (unit id, type) pairs, and found units come back as the JSON
 * text of their columns, which this thread parses and shapes. How each method crosses is one
 * entry of {@link WORKER_METHODS}, and the methods that only forward are made from it. Errors come back
 * as {@link TributaryError}s with their code and details. `close()` commits pending writes and
 * ends the thread; an idle store does not keep the process alive.
 *
 * With `threadAfterMs` the catalog starts on the calling thread, answering the same requests
 * through the same {@link CatalogDispatch}, and moves once it has been busy for that long (or a
 * stream reads a second page): the thread starts and opens the file while calls made meanwhile
 * wait; then, in one turn, this side commits its pending writes and hands its open versions and
 * publications over ({@link SqliteContentStore.handOver}), and the waiting calls and every later
 * one go to the thread. A thread that fails to start leaves the catalog here.
 *
 * @example
 * ```ts
 * const store = new SqliteWorkerStore('/var/lib/tributary/catalog.db');
 * await store.init();
 * ```
 */
export class SqliteWorkerStore implements ContentStore {
  readonly stats: StoreStats = { roundTrips: 0 };
  readonly pipelineBatchSize = SQLITE_PIPELINE_BATCH;
  readonly provenance: ProvenanceStore = { repoUnitSources: (repoId, version) => this.repoUnitSources(repoId, version) };
  private worker: Worker | undefined;
  /** The catalog on the calling thread, until it moves (with `threadAfterMs`). */
  private here: CatalogDispatch | undefined;
  private hereMs = 0;
  /** A failure the catalog here had for its next call, met while handing over. */
  private hereFailure: unknown;
  /** The move, once begun (then no other begins). */
  private moving: Promise<void> | undefined;
  /** True while the thread starts: calls wait for it. */
  private starting = false;
  /** Calls made while the catalog moves, waiting for the thread. */
  private readonly waiting: { method: WorkerMethod; args: readonly unknown[]; resolve(value: unknown): void; reject(error: unknown): void }[] = [];
  private closing = false;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  private nextId = 1;
  private exited: TributaryError | undefined;
  private readonly keyPageSize: number;
  private readonly unitPageSize: number;
  private readonly threadAfterMs: number;

  constructor(
    readonly file: string,
    private readonly options: SqliteWorkerStoreOptions = {},
  ) {
    this.keyPageSize = positive(options.keyPageSize, 1000);
    this.unitPageSize = positive(options.unitPageSize, 500);
    this.threadAfterMs = options.threadAfterMs ?? -1;
    if (options.threadAfterMs === undefined) {
      this.worker = this.startThread();
    } else {
      // Here the catalog runs only briefly: the copying of the log is the thread's business, and a
      // small page cache will do (memory freed on this thread stays with the process)
      const here = require('./sqlite-content-store.js') as typeof import('./sqlite-content-store.js');
      const catalog = catalogOptions(options);
      this.here = new CatalogDispatch(new here.SqliteContentStore(file, { ...catalog, checkpointThread: false, cacheMiB: Math.min(catalog.cacheMiB ?? HERE_CACHE_MIB, HERE_CACHE_MIB) }), {
        readAhead: false,
      });
    }
  }

  /** True once the catalog runs on its own thread. */
  get onThread(): boolean {
    return this.here === undefined;
  }

  /**
   * Moves the catalog to its thread now, if it is still here (with `threadAfterMs`); resolves
   * when it has moved, or when the thread could not start and the catalog stays here.
   */
  async moveToThread(): Promise<void> {
    if (this.here === undefined || this.closing) return;
    this.moving ??= this.move();
    await this.moving;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const here = this.here;
    if (here !== undefined) {
      // a thread still starting is stopped: the move gives up, and the calls waiting for it run here first
      this.closing = true;
      this.moving ??= Promise.resolve();
      this.starting = false;
      this.releaseWaiting('here');
      this.exited = new TributaryError(ErrorCodes.STORE, `SQLite catalog ${this.file}: the store is closed`, { details: { file: this.file } });
      await Promise.all([here.store.close(), this.abandonThread()]);
      return;
    }
    const worker = this.worker!;
    const exit = new Promise((resolve) => worker.once('exit', resolve));
    try {
      await this.call('close');
    } finally {
      // held until the thread is gone: a caller that awaits close() must see it finish
      worker.ref();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exit, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
      await worker.terminate();
    }
  }

  // written by hand, besides construction and close: the streams, which page, and what needs no thread

  repoUnitKeys(repoId: string, version: number, typeId?: string): AsyncIterable<RepoUnitKey> {
    const size = this.keyPageSize;
    return readPages(size, (after) => this.page('repoUnitKeys', repoId, version, typeId, this.pageAfter(after), size));
  }
  repoUnits(repoId: string, version: number, options: { typeId?: string; pageSize?: number } = {}): AsyncIterable<RepoUnitView> {
    const size = positive(options.pageSize, this.unitPageSize);
    // the next page is asked for before this one is handed on (the catalog reads it meanwhile), and
    // comes as JSON text: parsed here, it costs less than objects cloned across
    return readPages(size, async (after) => JSON.parse(await this.page('repoUnits', repoId, version, options.typeId, this.pageAfter(after), size)) as RepoUnitView[], { ahead: true });
  }
  repoUnitFingerprints(repoId: string, version: number, remote: string): AsyncIterable<Float64Array> {
    const size = this.keyPageSize;
    return readFingerprintPages((after) => this.page('repoUnitFingerprints', repoId, version, remote, this.pageAfter(after), size));
  }
  private repoUnitSources(repoId: string, version: number): AsyncIterable<Float64Array> {
    const size = this.keyPageSize;
    return readFingerprintPages((after) => this.page('repoUnitSources', repoId, version, this.pageAfter(after), size));
  }
  unitFingerprints(units: readonly UnitWrite[]): Float64Array {
    return fingerprintUnits(units);
  }
  diffVersions(repoId: string, from: number, to: number, options: { pageSize?: number } = {}): AsyncIterable<VersionChange> {
    const size = positive(options.pageSize, this.keyPageSize);
    return readCursorPages<DiffCursor, VersionChange>((after) => this.page('diffVersions', repoId, from, to, this.pageAfter(after), size));
  }
  catalogUnits(typeId: string, options: { pageSize?: number } = {}): AsyncIterable<CatalogUnit> {
    const size = positive(options.pageSize, this.unitPageSize);
    return readCursorPages<CatalogCursor, CatalogUnit>((after) => this.page('catalogUnits', typeId, this.pageAfter(after), size));
  }

  static {
    // every method that crosses plain or encoded: its entry's call, made here once for all
    for (const [method, entry] of Object.entries(WORKER_METHODS) as [WorkerMethod, (typeof WORKER_METHODS)[WorkerMethod]][]) {
      let forward: (this: SqliteWorkerStore, ...args: unknown[]) => Promise<unknown>;
      if (entry.kind === 'plain') {
        forward = function (...args) {
          return this.call(method, ...args);
        };
      } else if (entry.kind === 'encoded') {
        const { send, receive } = entry as Encoded<unknown[], unknown, unknown[], unknown>;
        forward =
          receive === undefined
            ? function (...args) {
                return this.call(method, ...send(...args));
              }
            : function (...args) {
                return this.call(method, ...send(...args)).then(receive);
              };
      } else {
        continue; // written by hand above
      }
      Object.defineProperty(forward, 'name', { value: method });
      Object.defineProperty(SqliteWorkerStore.prototype, method, { value: forward, writable: true, configurable: true });
    }
  }

  /**
   * A stream's cursor, on its way to the page it starts. A stream that reads a second page is bulk
   * work (a re-sync's base version, a large listing): a catalog still on the calling thread starts
   * moving to its own then, rather than after `threadAfterMs`.
   */
  private pageAfter<C>(after: C | undefined): C | undefined {
    if (after !== undefined && this.here !== undefined && this.moving === undefined && !this.closing) this.moving = this.move();
    return after;
  }

  /** One page of a stream, read by the page method its entry names. */
  private page<K extends PagedMethod>(method: K, ...args: Parameters<PageReaders[PageOf<K>]>): Promise<ReturnType<PageReaders[PageOf<K>]>> {
    return this.call(method, ...args);
  }

  private call<T>(method: WorkerMethod, ...args: readonly unknown[]): Promise<T> {
    this.stats.roundTrips++;
    if (this.exited) return Promise.reject(this.exited);
    if (this.here !== undefined) {
      // while the thread starts, calls wait for it: the work that made the catalog move belongs there
      if (this.starting) return new Promise<T>((resolve, reject) => this.waiting.push({ method, args, resolve: resolve as (value: unknown) => void, reject }));
      return this.callHere(this.here, method, args) as Promise<T>;
    }
    return this.post(method, args);
  }

  /** The calls that waited for the thread, in the order they were made: sent to it, or run here when it did not start. */
  private releaseWaiting(to: 'thread' | 'here'): void {
    const waiting = this.waiting.splice(0);
    for (const call of waiting) {
      const answer = to === 'thread' || this.here === undefined ? this.post(call.method, call.args) : this.callHere(this.here, call.method, call.args);
      answer.then(call.resolve, call.reject);
    }
  }

  /** A call run by the catalog on this thread; its errors are what the thread would send back. */
  private callHere(here: CatalogDispatch, method: WorkerMethod, args: readonly unknown[]): Promise<unknown> {
    const failure = this.hereFailure;
    if (failure !== undefined) {
      this.hereFailure = undefined;
      return Promise.reject(asStoreError(failure));
    }
    const started = performance.now();
    let value: unknown;
    try {
      value = here.serve(method, args);
    } catch (error) {
      return Promise.reject(asStoreError(error));
    } finally {
      this.hereMs += performance.now() - started;
      if (this.moving === undefined && method !== 'init' && method !== 'close' && this.hereMs >= this.threadAfterMs) this.moving = this.move();
    }
    return Promise.resolve(value).catch((error: unknown) => Promise.reject(asStoreError(error)));
  }

  /**
   * Moves the catalog to its thread: starts it and waits for it to open the file (calls made
   * meanwhile wait too), then, in one turn, commits what is pending here, sends the open work and
   * the calls that waited, and closes the connection here. A thread that cannot start leaves the
   * catalog here for good, and the calls that waited run here.
   */
  private async move(): Promise<void> {
    this.starting = true;
    try {
      this.worker = this.startThread();
      await this.post('init', []);
    } catch {
      await this.stayHere();
      return;
    }
    const here = this.here;
    if (this.closing || here === undefined) return;
    let work: OpenWork;
    try {
      work = here.store.handOver();
    } catch (error) {
      // the pending writes are lost (and counted so, for the versions they were for); the next
      // call here gets the failure, as it would have without the move
      this.hereFailure = error;
      await this.stayHere();
      return;
    }
    this.starting = false;
    // the open work goes first, then the calls that waited, then any later call
    void this.send({ adopt: work }).catch(() => undefined);
    this.releaseWaiting('thread');
    this.here = undefined;
    this.options.onThread?.();
    await here.store.close().catch(() => undefined);
  }

  /** After a move that failed: the calls that waited run here, as every later call will. */
  private async stayHere(): Promise<void> {
    this.starting = false;
    this.releaseWaiting('here');
    await this.abandonThread();
  }

  private async abandonThread(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    for (const waiter of this.pending.values()) waiter.reject(new Error('the catalog thread did not start'));
    this.pending.clear();
    await worker?.terminate().catch(() => undefined);
  }

  private startThread(): Worker {
    const worker = startThread(workerScript(), { workerData: { file: this.file, options: catalogOptions(this.options) } });
    worker.unref();
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    worker.on('error', (error) => this.fail(worker, error));
    worker.on('exit', (code) => this.fail(worker, new Error(`the catalog thread exited (code ${code})`)));
    return worker;
  }

  private post<T>(method: WorkerMethod, args: readonly unknown[]): Promise<T> {
    return this.send({ method, args }).catch((error: unknown) => {
      if (error instanceof PostError) throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `cannot send ${method} arguments to the catalog thread: ${String(error.reason)}`);
      throw error;
    }) as Promise<T>;
  }

  private send(request: { method: WorkerMethod; args: readonly unknown[] } | { adopt: OpenWork }): Promise<unknown> {
    const worker = this.worker;
    if (worker === undefined) return Promise.reject(this.exited ?? new Error('the catalog thread is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // a request in flight keeps the process alive until its answer comes
      if (this.pending.size === 1) worker.ref();
      try {
        worker.postMessage({ id, ...request });
      } catch (error) {
        this.pending.delete(id);
        if (this.pending.size === 0) worker.unref();
        reject(new PostError(error));
      }
    });
  }

  private settle(reply: WorkerReply): void {
    const waiter = this.pending.get(reply.id);
    if (waiter === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (reply.ok) waiter.resolve(reply.value);
    // an error of no code (a bug, not a refusal) is a store error
    else waiter.reject(errorFromData(reply.error, ErrorCodes.STORE));
  }

  private fail(worker: Worker, error: unknown): void {
    if (worker !== this.worker) return;
    if (this.here !== undefined) {
      // it stopped before the catalog moved there: the move gives up, and the catalog stays here
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
      return;
    }
    this.exited ??= new TributaryError(ErrorCodes.STORE, `SQLite catalog ${this.file}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      details: { file: this.file },
    });
    for (const waiter of this.pending.values()) waiter.reject(this.exited);
    this.pending.clear();
  }
}

/** SQLite page cache of the catalog while it runs on the calling thread, in MiB. */
const HERE_CACHE_MIB = 4;

/** A message that could not be sent (its arguments do not clone). */
class PostError extends Error {
  constructor(readonly reason: unknown) {
    super(String(reason));
  }
}

/** The catalog's own options, without the store's. */
function catalogOptions(options: SqliteWorkerStoreOptions): SqliteContentStoreOptions {
  const { threadAfterMs: _threadAfterMs, onThread: _onThread, ...catalog } = options;
  return catalog;
}

/** An error met here, as the thread would have sent it back: a refusal keeps its code, anything else is a store error. */
function asStoreError(error: unknown): unknown {
  return errorFromData(errorData(error), ErrorCodes.STORE);
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}
