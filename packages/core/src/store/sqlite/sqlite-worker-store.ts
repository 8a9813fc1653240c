import path from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  ErrorCodes,
  errorFromData,
  TributaryError,
  type ArtifactRecord,
  type CountsByType,
  type DigestAlgorithm,
  type ExistingUnit,
  type RepoUnitKey,
  type UnitOrigin,
} from '@tributary/plugin-api';
import type {
  AssociateRow,
  ContentStore,
  LeaseRecord,
  ProvenanceStore,
  RemoteArtifactRecord,
  RepoUnitView,
  RepositoryInput,
  RepositoryRecord,
  SeenUnit,
  StoreStats,
  SyncRecord,
  SyncRecordOutcome,
  SyncRecordStart,
  UnitWrite,
  UpsertStatus,
} from '../content-store.js';
import { packSources, readFingerprintPages, readPages, SQLITE_PIPELINE_BATCH, type SqliteContentStoreOptions } from './sqlite-content-store.js';
import type { FingerprintPage } from './sqlite-repo-unit-pages.js';
import { decodeFoundUnits, encodeUnits, fingerprintUnits } from '../unit-columns.js';
import type { WorkerMethod, WorkerReply } from './sqlite-worker-protocol.js';
import { builtThreadScript } from '../../thread-script.js';

/**
 * The embedded catalog run on a thread of its own: the same {@link SqliteContentStore} (same file
 * format, same transactions), reached by messages. better-sqlite3 is synchronous, so in-process
 * every statement stops the sync's pipeline; on its own thread the catalog writes one batch while
 * the pipeline parses, compares and hashes the next, which on two cores is most of a sync's time.
 *
 * Requests run in the order they are made; each is one round trip in `stats`. Units do not cross
 * the thread boundary as objects: measured on a batch of 500 file units, structured-clone decoding
 * costs 6.1 µs a unit and JSON.parse 2.6 µs, while a flat list of strings costs next to nothing.
 * So this thread encodes units into their row's columns ({@link encodeUnits}, work that needs
 * nothing stored), associate sends (unit id, type) pairs, and found units come back as the JSON
 * text of their columns, which this thread parses and shapes. Errors come back
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

  init(): Promise<void> {
    return this.call('init');
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

  createRepository(input: RepositoryInput): Promise<RepositoryRecord> {
    return this.call('createRepository', input);
  }
  getRepository(name: string): Promise<RepositoryRecord | undefined> {
    return this.call('getRepository', name);
  }
  listRepositories(): Promise<RepositoryRecord[]> {
    return this.call('listRepositories');
  }
  updateRepository(id: string, patch: Partial<RepositoryInput>): Promise<RepositoryRecord> {
    return this.call('updateRepository', id, patch);
  }
  deleteRepository(id: string): Promise<boolean> {
    return this.call('deleteRepository', id);
  }
  acquireLease(repoId: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.call('acquireLease', repoId, holder, ttlMs);
  }
  renewLease(repoId: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.call('renewLease', repoId, holder, ttlMs);
  }
  releaseLease(repoId: string, holder: string): Promise<void> {
    return this.call('releaseLease', repoId, holder);
  }
  getLease(repoId: string): Promise<LeaseRecord | undefined> {
    return this.call('getLease', repoId);
  }
  beginVersion(repoId: string): Promise<number> {
    return this.call('beginVersion', repoId);
  }
  commitVersion(repoId: string, version: number): Promise<void> {
    return this.call('commitVersion', repoId, version);
  }
  rollbackVersion(repoId: string, version: number): Promise<void> {
    return this.call('rollbackVersion', repoId, version);
  }
  upsertUnits(units: readonly UnitWrite[]): Promise<UpsertStatus[]> {
    return this.call('upsertEncodedUnits', encodeUnits(units));
  }
  async findUnits(unitIds: readonly string[]): Promise<ExistingUnit[]> {
    return decodeFoundUnits(await this.call<string>('findUnitsJson', unitIds));
  }
  upsertArtifacts(artifacts: readonly ArtifactRecord[]): Promise<void> {
    return this.call('upsertArtifacts', artifacts);
  }
  findArtifacts(algorithm: DigestAlgorithm, digests: readonly string[]): Promise<ArtifactRecord[]> {
    return this.call('findArtifacts', algorithm, digests);
  }
  upsertRemoteArtifacts(remotes: readonly RemoteArtifactRecord[]): Promise<void> {
    return this.call('upsertRemoteArtifacts', remotes);
  }
  associate(repoId: string, version: number, units: readonly AssociateRow[], origin: UnitOrigin): Promise<CountsByType> {
    // the key is for stores that look units up by it; this one has the unit's row
    const pairs: string[] = new Array<string>(units.length * 2);
    units.forEach(({ unitId, typeId }, i) => {
      pairs[2 * i] = unitId;
      pairs[2 * i + 1] = typeId;
    });
    const sources = units.some((unit) => unit.source !== undefined) ? packSources(units.map((unit) => unit.source)) : undefined;
    return this.call('associatePairs', repoId, version, pairs, origin, sources);
  }
  markSeen(repoId: string, version: number, seen: readonly SeenUnit[]): Promise<void> {
    // the catalog thread needs only the rows (and sources): flat lists cross cheapest
    const sources = seen.some((unit) => unit.source !== undefined) ? packSources(seen.map((unit) => unit.source)) : undefined;
    return this.call('markSeenRows', repoId, version, seen.map((unit) => unit.contentRow), sources);
  }
  unassociate(repoId: string, version: number, unitIds: readonly string[]): Promise<CountsByType> {
    return this.call('unassociate', repoId, version, unitIds);
  }
  unassociateUnseen(repoId: string, version: number, includeUserAdded: boolean): Promise<CountsByType> {
    return this.call('unassociateUnseen', repoId, version, includeUserAdded);
  }
  repoUnitKeys(repoId: string, version: number, typeId?: string): AsyncIterable<RepoUnitKey> {
    const size = this.keyPageSize;
    return readPages(size, (after) => this.call<RepoUnitKey[]>('unitKeysPage', repoId, version, typeId, after, size));
  }
  repoUnits(repoId: string, version: number, options: { typeId?: string; pageSize?: number } = {}): AsyncIterable<RepoUnitView> {
    const size = positive(options.pageSize, this.unitPageSize);
    return readPages(size, (after) => this.call<RepoUnitView[]>('unitsPage', repoId, version, options.typeId, after, size));
  }
  repoUnitFingerprints(repoId: string, version: number, remote: string): AsyncIterable<Float64Array> {
    const size = this.keyPageSize;
    return readFingerprintPages((after) => this.call<FingerprintPage>('fingerprintsPage', repoId, version, remote, after, size));
  }
  unitFingerprints(units: readonly UnitWrite[]): Float64Array {
    return fingerprintUnits(units);
  }
  private repoUnitSources(repoId: string, version: number): AsyncIterable<Float64Array> {
    const size = this.keyPageSize;
    return readFingerprintPages((after) => this.call<FingerprintPage>('sourcesPage', repoId, version, after, size));
  }
  countRepoUnits(repoId: string, version: number): Promise<CountsByType> {
    return this.call('countRepoUnits', repoId, version);
  }
  startSyncRecord(record: SyncRecordStart): Promise<string> {
    return this.call('startSyncRecord', record);
  }
  finishSyncRecord(id: string, outcome: SyncRecordOutcome): Promise<void> {
    return this.call('finishSyncRecord', id, outcome);
  }
  listSyncRecords(repoId: string, limit?: number): Promise<SyncRecord[]> {
    return this.call('listSyncRecords', repoId, limit);
  }
  lastFingerprint(repoId: string, settingsHash: string): Promise<string | undefined> {
    return this.call('lastFingerprint', repoId, settingsHash);
  }
  deleteOrphans(): Promise<{ units: number; artifacts: string[] }> {
    return this.call('deleteOrphans');
  }

  private call<T>(method: WorkerMethod, ...args: unknown[]): Promise<T> {
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

/** The compiled worker entry (see {@link builtThreadScript}); without it the store cannot run. */
function workerScript(): string {
  const script = builtThreadScript(__dirname, 'sqlite-store-worker.js');
  if (script !== undefined) return script;
  throw new TributaryError(ErrorCodes.STORE, `the catalog thread's script ${path.join(__dirname, 'sqlite-store-worker.js')} is missing: build the project (npm run build)`);
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}
