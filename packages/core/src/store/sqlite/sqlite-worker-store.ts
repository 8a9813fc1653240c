import { Worker } from 'node:worker_threads';
import { ErrorCodes, errorFromData, TributaryError, type RepoUnitKey } from '@tributary/plugin-api';
import type { CatalogUnit, ContentStore, ProvenanceStore, RepoUnitView, StoreStats, UnitWrite, VersionChange } from '../content-store.js';
import { fingerprintUnits } from '../unit-columns.js';
import type { CatalogCursor, DiffCursor, SqliteContentStoreOptions } from './sqlite-content-store.js';
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
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: unknown): void }>();
  private nextId = 1;
  private exited: TributaryError | undefined;
  private readonly keyPageSize: number;
  private readonly unitPageSize: number;

  constructor(
    readonly file: string,
    options: SqliteContentStoreOptions = {},
  ) {
    this.keyPageSize = positive(options.keyPageSize, 1000);
    this.unitPageSize = positive(options.unitPageSize, 500);
    this.worker = new Worker(workerScript(), { workerData: { file, options } });
    this.worker.unref();
    this.worker.on('message', (reply: WorkerReply) => this.settle(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the catalog thread exited (code ${code})`)));
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const exit = new Promise((resolve) => this.worker.once('exit', resolve));
    try {
      await this.call('close');
    } finally {
      // held until the thread is gone: a caller that awaits close() must see it finish
      this.worker.ref();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exit, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
      await this.worker.terminate();
    }
  }

  // written by hand, besides construction and close: the streams, which page, and what needs no thread

  repoUnitKeys(repoId: string, version: number, typeId?: string): AsyncIterable<RepoUnitKey> {
    const size = this.keyPageSize;
    return readPages(size, (after) => this.page('repoUnitKeys', repoId, version, typeId, after, size));
  }
  repoUnits(repoId: string, version: number, options: { typeId?: string; pageSize?: number } = {}): AsyncIterable<RepoUnitView> {
    const size = positive(options.pageSize, this.unitPageSize);
    // the next page is asked for before this one is handed on (the catalog reads it meanwhile), and
    // comes as JSON text: parsed here, it costs less than objects cloned across
    return readPages(size, async (after) => JSON.parse(await this.page('repoUnits', repoId, version, options.typeId, after, size)) as RepoUnitView[], { ahead: true });
  }
  repoUnitFingerprints(repoId: string, version: number, remote: string): AsyncIterable<Float64Array> {
    const size = this.keyPageSize;
    return readFingerprintPages((after) => this.page('repoUnitFingerprints', repoId, version, remote, after, size));
  }
  private repoUnitSources(repoId: string, version: number): AsyncIterable<Float64Array> {
    const size = this.keyPageSize;
    return readFingerprintPages((after) => this.page('repoUnitSources', repoId, version, after, size));
  }
  unitFingerprints(units: readonly UnitWrite[]): Float64Array {
    return fingerprintUnits(units);
  }
  diffVersions(repoId: string, from: number, to: number, options: { pageSize?: number } = {}): AsyncIterable<VersionChange> {
    const size = positive(options.pageSize, this.keyPageSize);
    return readCursorPages<DiffCursor, VersionChange>((after) => this.page('diffVersions', repoId, from, to, after, size));
  }
  catalogUnits(typeId: string, options: { pageSize?: number } = {}): AsyncIterable<CatalogUnit> {
    const size = positive(options.pageSize, this.unitPageSize);
    return readCursorPages<CatalogCursor, CatalogUnit>((after) => this.page('catalogUnits', typeId, after, size));
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

  /** One page of a stream, read by the page method its entry names. */
  private page<K extends PagedMethod>(method: K, ...args: Parameters<PageReaders[PageOf<K>]>): Promise<ReturnType<PageReaders[PageOf<K>]>> {
    return this.call(method, ...args);
  }

  private call<T>(method: WorkerMethod, ...args: readonly unknown[]): Promise<T> {
    this.stats.roundTrips++;
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      // a request in flight keeps the process alive until its answer comes
      if (this.pending.size === 1) this.worker.ref();
      try {
        this.worker.postMessage({ id, method, args });
      } catch (error) {
        this.pending.delete(id);
        if (this.pending.size === 0) this.worker.unref();
        reject(new TributaryError(ErrorCodes.INVALID_ARGUMENT, `cannot send ${method} arguments to the catalog thread: ${String(error)}`));
      }
    });
  }

  private settle(reply: WorkerReply): void {
    const waiter = this.pending.get(reply.id);
    if (waiter === undefined) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.ok) waiter.resolve(reply.value);
    // an error of no code (a bug, not a refusal) is a store error
    else waiter.reject(errorFromData(reply.error, ErrorCodes.STORE));
  }

  private fail(error: unknown): void {
    this.exited ??= new TributaryError(ErrorCodes.STORE, `SQLite catalog ${this.file}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      details: { file: this.file },
    });
    for (const waiter of this.pending.values()) waiter.reject(this.exited);
    this.pending.clear();
  }
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}
