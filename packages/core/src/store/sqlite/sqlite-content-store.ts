import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import {
  ErrorCodes,
  TributaryError,
  isTributaryError,
  type ArtifactRecord,
  type CountsByType,
  type DigestAlgorithm,
  type ExistingUnit,
  type RepoUnitKey,
  type UnitOrigin,
} from '@tributary/plugin-api';
import type {
  AssociateRow,
  CatalogLeaseRecord,
  CatalogUnit,
  ContentStore,
  CopyCounts,
  DistributionInput,
  DistributionRecord,
  LeaseRecord,
  OrphanOptions,
  ProvenanceStore,
  PublicationEntry,
  PublicationInput,
  PublicationRecord,
  PublicationSummary,
  RemoteArtifactRecord,
  RepoUnitView,
  RepositoryInput,
  RepositoryRecord,
  SeenUnit,
  StoreStats,
  SyncRecord,
  SyncRecordOutcome,
  SyncRecordStart,
  UnitRef,
  UnitWrite,
  UpsertStatus,
  VersionChange,
  VersionChangeCounts,
  VersionRecord,
  VersionRecordInput,
} from '../content-store.js';
import { SqliteRepositories } from './catalog/sqlite-repositories.js';
import * as content from './catalog/sqlite-repository-content.js';
import {
  fingerprintsPage,
  sourcesPage,
  unitKeysPage,
  unitsPage,
  unitsPageJson,
  type FingerprintCursor,
  type FingerprintPage,
  type PageCursor,
} from './catalog/sqlite-repo-unit-pages.js';
import { SqliteDistributions } from './catalog/sqlite-distributions.js';
import { decodeEntries, encodeEntries, ENTRY_COLUMNS, SqlitePublications, type EntryColumn } from './catalog/sqlite-publications.js';
import { migrateSchema } from './catalog/sqlite-schema.js';
import { SqliteStatements } from './catalog/sqlite-statements.js';
import { SqliteSyncHistory } from './catalog/sqlite-sync-history.js';
import { SqliteVersions, type DiffCursor, type DiffPage } from './catalog/sqlite-versions.js';
import * as catalog from './catalog/sqlite-units.js';
import type { CatalogCursor } from './catalog/sqlite-units.js';
import { SqliteCheckpointer } from './write-path/sqlite-checkpointer.js';
import { SqliteGroupCommit, type GroupCommitOptions } from './write-path/sqlite-group-commit.js';
import { SqliteUnitRows } from './write-path/sqlite-unit-rows.js';
import { readCursorPages, readFingerprintPages, readPages } from './sqlite-page-streams.js';
import { SQLITE_PIPELINE_BATCH } from './sqlite-pipeline-batch.js';
import type { SourceDigest } from '../unit-fingerprint.js';
import { decodeFoundUnits, encodeUnits, fingerprintUnits, UNIT_COLUMNS } from '../unit-columns.js';

export type { PageCursor } from './catalog/sqlite-repo-unit-pages.js';
export type { DiffCursor, DiffPage } from './catalog/sqlite-versions.js';
export type { CatalogCursor } from './catalog/sqlite-units.js';

export interface SqliteContentStoreOptions {
  /** Units per page when streaming a repository's unit keys (one read per page). Default 1000. */
  readonly keyPageSize?: number;
  /** Default page size of `repoUnits`. Default 500. */
  readonly unitPageSize?: number;
  /** How long a statement waits for another process's write lock. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /** SQLite page cache of the connection, in MiB. Default {@link DEFAULT_CACHE_MIB}. */
  readonly cacheMiB?: number;
  /** When the sync path's bulk writes commit (see {@link SqliteGroupCommit}). */
  readonly groupCommit?: GroupCommitOptions;
  /**
   * Copy the write-ahead log into the file on a thread of its own ({@link SqliteCheckpointer})
   * instead of inside the commits of this connection. Default true for a catalog file.
   */
  readonly checkpointThread?: boolean;
}

export { SQLITE_PIPELINE_BATCH };

/**
 * What one store object leaves open when another takes its file over ({@link SqliteContentStore.handOver}):
 * the versions (`repoId\0version`) and publications it began and did not finish, each with whether
 * writes made for it were lost in a failed group.
 */
export interface OpenWork {
  readonly versions: readonly (readonly [key: string, lost: boolean])[];
  readonly publications: readonly (readonly [id: string, lost: boolean])[];
}

/**
 * Default SQLite page cache per connection, in MiB; it bounds the store's share of a sync's memory
 * however large the catalog grows. Since content rows refer to units by integer (schema 3), the
 * indexes a sync probes are small: on a 200,000-unit file repository 16 MiB costs the catalog
 * thread about 5% more CPU than 32 MiB (within this VM's noise on a forced re-sync) and saves
 * ~22 MiB of peak RSS. Larger catalogs with many syncs a day may want more (`cacheMiB`).
 */
export const DEFAULT_CACHE_MIB = 16;

/**
 * Page size of a new catalog file (an existing one keeps its own). Unit rows run to a few KB (an
 * rpm package's is ~1.9 KB), so several fit a 16 KiB page where a 4 KiB page holds two, and the
 * indexes keyed by hashed unit ids are shallower: a 100,000-package rpm sync took ~4% less CPU
 * (6.9–7.3 s against 7.1–7.7 s over four alternating pairs), a 200,000-entry file sync about the same.
 */
const PAGE_SIZE = 16384;
/**
 * Bytes the write-ahead log may hold before a commit of the writing connection copies them into
 * the file itself (64 MiB instead of SQLite's 4 MiB: a sync writes in bursts, and each checkpoint
 * rewrites and syncs pages of the randomly keyed indexes).
 */
const AUTOCHECKPOINT_BYTES = 64 * 1024 * 1024;
/**
 * The same while a checkpoint thread does that work: only a backstop, so the log stays bounded if
 * the thread falls behind.
 */
const BACKSTOP_AUTOCHECKPOINT_BYTES = 4 * AUTOCHECKPOINT_BYTES;

/**
 * The embedded catalog: the {@link ContentStore} port on one SQLite file (better-sqlite3, WAL).
 *
 * Every method is one transaction or savepoint, counted as one round trip in `stats`; streams read
 * one page per read. Writes take the write lock up front (`BEGIN IMMEDIATE`), so two processes
 * sharing the file queue behind `busy_timeout` instead of failing mid-transaction. The sync path's
 * bulk writes (units, artifacts, remote artifacts, content rows) are group-committed: each runs in
 * a savepoint of a longer transaction that any other write, `close` or a timer commits.
 *
 * It puts two layers together: the catalog (catalog/: plain synchronous SQL by aggregate, schema
 * and statements) and the write path (write-path/: group commit, row cache, checkpoint thread).
 * {@link SqliteWorkerStore} runs it on a thread of its own (thread/).
 *
 * @example
 * ```ts
 * const store = new SqliteContentStore('/var/lib/tributary/catalog.db');
 * await store.init();
 * const repo = await store.createRepository({ name: 'epel' });
 * ```
 */
export class SqliteContentStore implements ContentStore {
  readonly stats: StoreStats = { roundTrips: 0 };
  readonly pipelineBatchSize = SQLITE_PIPELINE_BATCH;
  readonly provenance: ProvenanceStore = { repoUnitSources: (repoId, version) => this.repoUnitSources(repoId, version) };
  private readonly db: Database;
  private readonly sql: SqliteStatements;
  private readonly repositories: SqliteRepositories;
  private readonly history: SqliteSyncHistory;
  private readonly versions: SqliteVersions;
  private readonly publications: SqlitePublications;
  private readonly distributions: SqliteDistributions;
  private readonly keyPageSize: number;
  private readonly unitPageSize: number;
  private readonly group: SqliteGroupCommit;
  private readonly checkpointer: SqliteCheckpointer | undefined;
  private readonly unitRows: SqliteUnitRows;
  /** Group losses counted when each uncommitted version began, by `repoId\0version`. */
  private readonly lossesAtBegin = new Map<string, number>();
  /** Group losses counted when each incomplete publication this store created began, by id. */
  private readonly lossesAtPublication = new Map<string, number>();

  constructor(
    readonly file: string,
    options: SqliteContentStoreOptions = {},
  ) {
    let db: Database | undefined;
    let checkpointer = false;
    let pageSize = PAGE_SIZE;
    try {
      if (file !== ':memory:' && file !== '') mkdirSync(dirname(file), { recursive: true });
      db = new BetterSqlite3(file, { timeout: options.busyTimeoutMs ?? 5000 });
      // before anything is written (and before WAL mode, which fixes it): a new file only
      db.pragma(`page_size = ${PAGE_SIZE}`);
      db.pragma('journal_mode = WAL');
      pageSize = db.pragma('page_size', { simple: true }) as number;
      // In WAL mode NORMAL loses at most the last transactions on power loss, never consistency.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      // Unit ids are hashes, so each batch touches pages all over the indexes; past the cache, pages
      // come from the OS's file cache. The cache is most of the store's memory, and it stops
      // growing at this size however large the catalog gets.
      db.pragma(`cache_size = -${positive(options.cacheMiB, DEFAULT_CACHE_MIB) * 1024}`);
      checkpointer = file !== ':memory:' && file !== '' && options.checkpointThread !== false;
      db.pragma(`wal_autocheckpoint = ${Math.ceil((checkpointer ? BACKSTOP_AUTOCHECKPOINT_BYTES : AUTOCHECKPOINT_BYTES) / pageSize)}`);
      db.pragma('temp_store = MEMORY');
    } catch (error) {
      db?.close();
      throw storeError(file, 'open the catalog', error);
    }
    this.db = db;
    this.checkpointer = checkpointer
      ? new SqliteCheckpointer(file, () => {
          if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${Math.ceil(AUTOCHECKPOINT_BYTES / pageSize)}`);
        })
      : undefined;
    this.group = new SqliteGroupCommit(db, options.groupCommit, () => this.checkpointer?.request());
    this.unitRows = new SqliteUnitRows(db, this.group);
    this.sql = new SqliteStatements(this.db);
    this.repositories = new SqliteRepositories(this.sql);
    this.history = new SqliteSyncHistory(this.sql);
    this.versions = new SqliteVersions(this.sql, this.repositories);
    this.publications = new SqlitePublications(this.sql);
    this.distributions = new SqliteDistributions(this.sql);
    this.keyPageSize = positive(options.keyPageSize, 1000);
    this.unitPageSize = positive(options.unitPageSize, 500);
  }

  async init(): Promise<void> {
    this.stats.roundTrips++;
    try {
      migrateSchema(this.db);
    } catch (error) {
      throw storeError(this.file, 'create the schema', error);
    }
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    // First: the last commit must not start a checkpoint thread only to copy the log once, which
    // closing this connection does anyway (the last one to close copies what is left and removes it).
    const checkpointerClosed = this.checkpointer?.close();
    try {
      this.group.close();
    } catch (error) {
      throw storeError(this.file, 'commit pending writes', error);
    } finally {
      await checkpointerClosed;
      this.db.close();
    }
  }

  /**
   * Gives this file over to another store object (a {@link SqliteWorkerStore} moving to its thread):
   * commits the pending bulk writes and says which versions and publications begun here are still
   * open, and whether writes made for them were lost. The other object takes them with
   * {@link adoptOpenWork}, so it refuses to commit what this one would have refused. Afterwards
   * this object may only be closed. Throws what the commit throws (the writes of the group are
   * then lost, and counted so).
   */
  handOver(): OpenWork {
    this.group.flush();
    const losses = this.group.losses;
    return {
      versions: [...this.lossesAtBegin].map(([key, at]) => [key, at !== losses] as const),
      publications: [...this.lossesAtPublication].map(([id, at]) => [id, at !== losses] as const),
    };
  }

  /** Takes over the open work another store object handed over ({@link handOver}). */
  adoptOpenWork(work: OpenWork): void {
    // a loss before the hand-over can never be matched again: -1 is no count of losses
    for (const [key, lost] of work.versions) this.lossesAtBegin.set(key, lost ? -1 : this.group.losses);
    for (const [id, lost] of work.publications) this.lossesAtPublication.set(id, lost ? -1 : this.group.losses);
  }

  // ---- repositories ----

  async createRepository(input: RepositoryInput): Promise<RepositoryRecord> {
    return this.write('create repository', () => this.repositories.create(input));
  }

  async getRepository(name: string): Promise<RepositoryRecord | undefined> {
    return this.read('get repository', () => this.repositories.byName(name));
  }

  async getRepositoryById(id: string): Promise<RepositoryRecord | undefined> {
    return this.read('get repository', () => this.repositories.byId(id));
  }

  async listRepositories(): Promise<RepositoryRecord[]> {
    return this.read('list repositories', () => this.repositories.list());
  }

  async updateRepository(id: string, patch: Partial<RepositoryInput>): Promise<RepositoryRecord> {
    return this.write('update repository', () => this.repositories.update(id, patch));
  }

  async deleteRepository(id: string): Promise<boolean> {
    return this.write('delete repository', () => {
      this.publications.deleteOfRepository(id);
      return this.repositories.delete(id);
    });
  }

  // ---- lease ----

  async acquireLease(repoId: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.write('acquire lease', () => this.repositories.acquireLease(repoId, holder, ttlMs));
  }

  async renewLease(repoId: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.write('renew lease', () => this.repositories.renewLease(repoId, holder, ttlMs));
  }

  async releaseLease(repoId: string, holder: string): Promise<void> {
    this.write('release lease', () => this.repositories.releaseLease(repoId, holder));
  }

  async getLease(repoId: string): Promise<LeaseRecord | undefined> {
    return this.read('get lease', () => this.repositories.lease(repoId));
  }

  async acquireCatalogLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.write('acquire catalog lease', () => this.repositories.acquireCatalogLease(name, holder, ttlMs));
  }

  async renewCatalogLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.write('renew catalog lease', () => this.repositories.renewCatalogLease(name, holder, ttlMs));
  }

  async releaseCatalogLease(name: string, holder: string): Promise<void> {
    this.write('release catalog lease', () => this.repositories.releaseCatalogLease(name, holder));
  }

  async getCatalogLease(name: string): Promise<CatalogLeaseRecord | undefined> {
    return this.read('get catalog lease', () => this.repositories.catalogLease(name));
  }

  // ---- versions ----

  async beginVersion(repoId: string): Promise<number> {
    return this.write('begin version', () => {
      const { version, seq } = this.repositories.beginWrite(repoId);
      content.rollbackContent(this.sql, seq, version);
      this.lossesAtBegin.set(`${repoId}\0${version}`, this.group.losses);
      return version;
    });
  }

  async commitVersion(repoId: string, version: number): Promise<void> {
    this.write('commit version', () => {
      const key = `${repoId}\0${version}`;
      const losses = this.lossesAtBegin.get(key);
      if (losses !== undefined && losses !== this.group.losses) {
        throw new TributaryError(
          ErrorCodes.STORE,
          `cannot commit version ${version} of repository ${repoId}: writes made for it were lost when a ` +
            `catalog transaction failed; sync again`,
          { details: { repoId, version } },
        );
      }
      this.repositories.commitVersion(repoId, version);
      this.lossesAtBegin.delete(key);
    });
  }

  async rollbackVersion(repoId: string, version: number): Promise<void> {
    this.lossesAtBegin.delete(`${repoId}\0${version}`);
    this.write('roll back version', () => {
      const latest = this.repositories.latestVersion(repoId);
      if (version <= latest) {
        throw new TributaryError(
          ErrorCodes.STORE,
          `cannot roll back version ${version} of repository ${repoId}: it is committed (latest is ${latest})`,
          { details: { repoId, version, latestVersion: latest } },
        );
      }
      content.rollbackContent(this.sql, this.repositories.seq(repoId), version);
    });
  }

  async versionChanged(repoId: string, version: number): Promise<boolean> {
    return this.read('compare versions', () => content.versionChanged(this.sql, this.repositories.seq(repoId), version));
  }

  // ---- version history ----

  async recordVersion(record: VersionRecordInput): Promise<void> {
    this.write('record version', () => this.versions.record(record));
  }

  async listVersionRecords(repoId: string): Promise<VersionRecord[]> {
    return this.read('list versions', () => this.versions.list(repoId));
  }

  async getVersionRecord(repoId: string, version: number): Promise<VersionRecord | undefined> {
    return this.read('get version', () => this.versions.get(repoId, version));
  }

  async deleteVersion(repoId: string, version: number): Promise<{ rows: number }> {
    return this.write('delete version', () => this.versions.delete(repoId, version));
  }

  diffVersions(repoId: string, from: number, to: number, options: { pageSize?: number } = {}): AsyncIterable<VersionChange> {
    const pageSize = positive(options.pageSize, this.keyPageSize);
    return readCursorPages<DiffCursor, VersionChange>((after) => this.diffPage(repoId, from, to, after, pageSize));
  }

  /** One page of {@link diffVersions}, like {@link unitKeysPage}. */
  diffPage(repoId: string, from: number, to: number, after: DiffCursor | undefined, limit: number): DiffPage {
    return this.read('diff versions', () => this.versions.diffPage(repoId, from, to, after, limit));
  }

  async countVersionChanges(repoId: string, from: number, to: number): Promise<VersionChangeCounts> {
    return this.read('count version changes', () => this.versions.countChanges(repoId, from, to));
  }

  async restoreVersion(repoId: string, version: number, from: number): Promise<VersionChangeCounts> {
    // rows of units this connection created may appear: what the row cache believes of them goes
    this.unitRows.clear();
    return this.write('restore version', () => this.versions.restore(repoId, version, from));
  }

  async copyContent(repoId: string, version: number, source: { readonly repoId: string; readonly version: number }, units: readonly UnitRef[]): Promise<CopyCounts> {
    this.unitRows.clear();
    return this.write('copy units', () => this.versions.copy(repoId, version, source, units));
  }

  // ---- units and artifacts ----

  async upsertUnits(units: readonly UnitWrite[]): Promise<UpsertStatus[]> {
    return this.upsertEncodedUnits(encodeUnits(units));
  }

  /** {@link upsertUnits} of units encoded by {@link encodeUnits} (how the catalog thread gets them). */
  upsertEncodedUnits(encoded: readonly string[]): UpsertStatus[] {
    return this.bulk('upsert units', encoded.length / UNIT_COLUMNS, () => catalog.upsertUnits(this.sql, this.unitRows, encoded));
  }

  async findUnits(unitIds: readonly string[]): Promise<ExistingUnit[]> {
    return decodeFoundUnits(this.findUnitsJson(unitIds));
  }

  catalogUnits(typeId: string, options: { pageSize?: number } = {}): AsyncIterable<CatalogUnit> {
    const pageSize = positive(options.pageSize, this.unitPageSize);
    return readCursorPages<CatalogCursor, CatalogUnit>((after) => this.catalogUnitsPage(typeId, after, pageSize));
  }

  /** One page of {@link catalogUnits}, like {@link unitKeysPage}. */
  catalogUnitsPage(typeId: string, after: CatalogCursor | undefined, limit: number): { items: CatalogUnit[]; next: CatalogCursor | undefined } {
    return this.read('stream catalog units', () => catalog.catalogUnitsPage(this.sql, typeId, after, limit));
  }

  /** {@link findUnits} as JSON text of the rows' columns, which is what the catalog thread sends back. */
  findUnitsJson(unitIds: readonly string[]): string {
    return this.read('find units', () => catalog.findUnitsJson(this.sql, this.unitRows, unitIds));
  }

  async upsertArtifacts(artifacts: readonly ArtifactRecord[]): Promise<void> {
    this.bulk('upsert artifacts', artifacts.length, () => catalog.upsertArtifacts(this.sql, artifacts));
  }

  async findArtifacts(algorithm: DigestAlgorithm, digests: readonly string[]): Promise<ArtifactRecord[]> {
    return this.read('find artifacts', () => catalog.findArtifacts(this.sql, algorithm, digests));
  }

  async upsertRemoteArtifacts(remotes: readonly RemoteArtifactRecord[]): Promise<void> {
    this.bulk('upsert remote artifacts', remotes.length, () => catalog.upsertRemoteArtifacts(this.sql, remotes));
  }

  // ---- repository content ----

  async associate(repoId: string, version: number, units: readonly AssociateRow[], origin: UnitOrigin): Promise<CountsByType> {
    return this.bulk('associate units', units.length, () => {
      const { seq, generation } = this.repositories.writableVersion(repoId, version);
      return content.associate(this.sql, this.unitRows, seq, generation, version, units, origin);
    });
  }

  async markSeen(repoId: string, version: number, seen: readonly SeenUnit[]): Promise<void> {
    const sources = seen.some((unit) => unit.source !== undefined) ? seen.map((unit) => unit.source) : undefined;
    this.markSeenRows(repoId, version, seen.map((unit) => unit.contentRow), sources);
  }

  /**
   * {@link markSeen} by content rows only, how the catalog thread gets them; their sources, if
   * any, in the same order.
   */
  markSeenRows(repoId: string, version: number, contentRows: readonly number[], sources?: readonly (SourceDigest | undefined)[]): void {
    this.bulk('mark units seen', contentRows.length, () => {
      const { seq, generation } = this.repositories.writableVersion(repoId, version);
      content.markSeen(this.sql, seq, generation, contentRows, sources);
    });
  }

  async unassociate(repoId: string, version: number, unitIds: readonly string[]): Promise<CountsByType> {
    return this.bulk('unassociate units', unitIds.length, () => {
      const { seq } = this.repositories.writableVersion(repoId, version);
      return content.unassociate(this.sql, seq, version, unitIds);
    });
  }

  async unassociateUnseen(repoId: string, version: number, includeUserAdded: boolean): Promise<CountsByType> {
    return this.write('unassociate unseen units', () => {
      const { seq, generation } = this.repositories.writableVersion(repoId, version);
      return content.unassociateUnseen(this.sql, seq, generation, version, includeUserAdded);
    });
  }

  async *repoUnitKeys(repoId: string, version: number, typeId?: string): AsyncIterable<RepoUnitKey> {
    const pageSize = this.keyPageSize;
    yield* readPages(pageSize, (after) => this.unitKeysPage(repoId, version, typeId, after, pageSize));
  }

  async *repoUnits(
    repoId: string,
    version: number,
    options: { typeId?: string; pageSize?: number } = {},
  ): AsyncIterable<RepoUnitView> {
    const pageSize = positive(options.pageSize, this.unitPageSize);
    yield* readPages(pageSize, (after) => this.unitsPage(repoId, version, options.typeId, after, pageSize));
  }

  /**
   * One page of {@link repoUnitKeys}: up to `limit` keys after `after`, by type and then in the
   * order units entered the catalog.
   * Each page is its own read, so nothing stays open between pages.
   */
  unitKeysPage(repoId: string, version: number, typeId: string | undefined, after: PageCursor | undefined, limit: number): RepoUnitKey[] {
    return this.read('stream unit keys', () => unitKeysPage(this.sql, repoId, version, typeId, after, limit));
  }

  /** One page of {@link repoUnits}, like {@link unitKeysPage}. */
  unitsPage(repoId: string, version: number, typeId: string | undefined, after: PageCursor | undefined, limit: number): RepoUnitView[] {
    return this.read('stream units', () => unitsPage(this.sql, repoId, version, typeId, after, limit));
  }

  /** {@link unitsPage} as JSON text (for a caller on another thread: see unitsPageJson). */
  unitsPageJson(repoId: string, version: number, typeId: string | undefined, after: PageCursor | undefined, limit: number): string {
    return this.read('stream units', () => unitsPageJson(this.sql, repoId, version, typeId, after, limit));
  }

  repoUnitFingerprints(repoId: string, version: number, remote: string): AsyncIterable<Float64Array> {
    const pageSize = this.keyPageSize;
    return readFingerprintPages((after) => this.fingerprintsPage(repoId, version, remote, after, pageSize));
  }

  /** One page of {@link repoUnitFingerprints}, like {@link unitKeysPage}. */
  fingerprintsPage(repoId: string, version: number, remote: string, after: FingerprintCursor | undefined, limit: number): FingerprintPage {
    return this.read('read unit fingerprints', () => fingerprintsPage(this.sql, repoId, version, remote, after, limit));
  }

  unitFingerprints(units: readonly UnitWrite[]): Float64Array {
    return fingerprintUnits(units);
  }

  private repoUnitSources(repoId: string, version: number): AsyncIterable<Float64Array> {
    const pageSize = this.keyPageSize;
    return readFingerprintPages((after) => this.sourcesPage(repoId, version, after, pageSize));
  }

  /** One page of {@link repoUnitSources}, like {@link fingerprintsPage}. */
  sourcesPage(repoId: string, version: number, after: FingerprintCursor | undefined, limit: number): FingerprintPage {
    return this.read('read content sources', () => sourcesPage(this.sql, repoId, version, after, limit));
  }

  async countRepoUnits(repoId: string, version: number): Promise<CountsByType> {
    return this.read('count units', () => content.countRepoUnits(this.sql, repoId, version));
  }

  // ---- publications ----

  async createPublication(input: PublicationInput): Promise<string> {
    return this.write('create publication', () => {
      const id = this.publications.create(input);
      this.lossesAtPublication.set(id, this.group.losses);
      return id;
    });
  }

  async addPublicationEntries(publicationId: string, entries: readonly PublicationEntry[]): Promise<number> {
    return this.addEncodedPublicationEntries(publicationId, encodeEntries(entries));
  }

  /**
   * {@link addPublicationEntries} of entries encoded by {@link encodeEntries} (how the catalog
   * thread gets them). A bulk write, group-committed like the sync path's: a publication's entries
   * can run to a million.
   */
  addEncodedPublicationEntries(publicationId: string, columns: readonly EntryColumn[]): number {
    return this.bulk('add publication entries', columns.length / ENTRY_COLUMNS, () => this.publications.addEntries(publicationId, columns));
  }

  async completePublication(publicationId: string, summary: PublicationSummary): Promise<void> {
    this.write('complete publication', () => {
      const losses = this.lossesAtPublication.get(publicationId);
      if (losses !== undefined && losses !== this.group.losses) {
        throw new TributaryError(
          ErrorCodes.STORE,
          `cannot complete publication ${publicationId}: entries written for it were lost when a catalog transaction failed; publish again`,
          { details: { publicationId } },
        );
      }
      this.publications.complete(publicationId, summary);
      this.lossesAtPublication.delete(publicationId);
    });
  }

  async deletePublication(publicationId: string): Promise<void> {
    this.lossesAtPublication.delete(publicationId);
    this.write('delete publication', () => this.publications.delete(publicationId));
  }

  async findPublication(repoId: string, publisherKey: string, maxVersion: number, exact: boolean): Promise<PublicationRecord | undefined> {
    return this.read('find publication', () => this.publications.find(repoId, publisherKey, maxVersion, exact));
  }

  async listPublications(repoId: string): Promise<PublicationRecord[]> {
    return this.read('list publications', () => this.publications.list(repoId));
  }

  async getPublicationEntry(publicationId: string, path: string): Promise<PublicationEntry | undefined> {
    const columns = this.read('get publication entry', () => this.publications.entry(publicationId, path));
    return columns && decodeEntries(columns)[0];
  }

  async listPublicationEntries(publicationId: string, options: { prefix?: string; after?: string; limit: number }): Promise<PublicationEntry[]> {
    return decodeEntries(this.publicationEntryColumns(publicationId, options));
  }

  /** {@link listPublicationEntries} as the entries' columns (see {@link encodeEntries}), which is what the catalog thread sends back. */
  publicationEntryColumns(publicationId: string, options: { prefix?: string; after?: string; limit: number }): EntryColumn[] {
    return this.read('list publication entries', () => this.publications.entries(publicationId, options));
  }

  // ---- distributions ----

  async createDistribution(input: DistributionInput): Promise<DistributionRecord> {
    return this.write('create distribution', () => this.distributions.create(input));
  }

  async getDistribution(name: string): Promise<DistributionRecord | undefined> {
    return this.read('get distribution', () => this.distributions.get(name));
  }

  async listDistributions(): Promise<DistributionRecord[]> {
    return this.read('list distributions', () => this.distributions.list());
  }

  async updateDistribution(name: string, patch: Partial<Omit<DistributionInput, 'name'>>): Promise<DistributionRecord> {
    return this.write('update distribution', () => this.distributions.update(name, patch));
  }

  async deleteDistribution(name: string): Promise<boolean> {
    return this.write('delete distribution', () => this.distributions.delete(name));
  }

  // ---- sync history ----

  async startSyncRecord(record: SyncRecordStart): Promise<string> {
    return this.write('start sync record', () => this.history.start(record));
  }

  async finishSyncRecord(id: string, outcome: SyncRecordOutcome): Promise<void> {
    this.write('finish sync record', () => this.history.finish(id, outcome));
  }

  async listSyncRecords(repoId: string, limit?: number): Promise<SyncRecord[]> {
    return this.read('list sync records', () => this.history.list(repoId, limit));
  }

  async lastFingerprint(repoId: string, settingsHash: string): Promise<string | undefined> {
    return this.read('read last fingerprint', () => this.history.lastFingerprint(repoId, settingsHash));
  }

  // ---- orphans ----

  async deleteOrphans(options: OrphanOptions = {}): Promise<{ units: number; artifacts: string[] }> {
    this.unitRows.clear();
    return this.write('delete orphans', () => catalog.deleteOrphans(this.sql, options.storedBefore));
  }

  // ---- plumbing ----

  /** One write transaction, holding the write lock from its start; commits pending bulk writes first. */
  private write<T>(operation: string, body: () => T): T {
    this.stats.roundTrips++;
    try {
      this.group.flush();
      return this.db.transaction(body).immediate();
    } catch (error) {
      throw storeError(this.file, operation, error);
    }
  }

  /** A bulk write of about `rows` rows: a savepoint in the group-committed transaction. */
  private bulk<T>(operation: string, rows: number, body: () => T): T {
    this.stats.roundTrips++;
    try {
      return this.group.run(rows, body);
    } catch (error) {
      // its savepoint was rolled back: what it taught the cache may be undone
      this.unitRows.clear();
      throw storeError(this.file, operation, error);
    }
  }

  /** One read transaction: its statements see one snapshot. */
  private read<T>(operation: string, body: () => T): T {
    this.stats.roundTrips++;
    try {
      return this.db.transaction(body).deferred();
    } catch (error) {
      throw storeError(this.file, operation, error);
    }
  }
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

function storeError(file: string, operation: string, error: unknown): TributaryError {
  if (isTributaryError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const sqliteCode = (error as { code?: unknown } | null)?.code;
  return new TributaryError(ErrorCodes.STORE, `SQLite catalog ${file}: could not ${operation}: ${message}`, {
    cause: error,
    details: { file, operation, ...(typeof sqliteCode === 'string' ? { sqliteCode } : {}) },
  });
}
