import type { Db, MongoClient } from 'mongodb';
import { mongodbDriver } from './mongodb-driver.js';
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
import { CATALOG_INDEXES, catalogCollections, type CatalogCollections } from './mongodb-documents.js';
import { MongoDistributions } from './mongodb-distributions.js';
import { MongoOrphans } from './mongodb-orphans.js';
import { MongoPublications } from './mongodb-publications.js';
import { MongoRepoUnitStream } from './mongodb-repo-unit-stream.js';
import { MongoRepositories } from './mongodb-repositories.js';
import { MongoRepositoryContent } from './mongodb-repository-content.js';
import { MongoRequests } from './mongodb-requests.js';
import { MongoSyncHistory } from './mongodb-sync-history.js';
import { MongoUnits } from './mongodb-units.js';
import { MongoVersions } from './mongodb-versions.js';
import { fingerprintUnits } from '../unit-columns.js';

export interface MongoContentStoreOptions {
  /** Database of the catalog. Default: the one named in the URI, else `tributary`. */
  readonly database?: string;
  /** A connected or unconnected client to use instead of one made from the URI; `close()` leaves it open. */
  readonly client?: MongoClient;
  /** Ids per `$in` lookup and documents per orphan-cleanup chunk. Default 1000. */
  readonly chunkSize?: number;
  /** Units per batch (one round trip each) when streaming a repository's unit keys. Default 1000. */
  readonly keyPageSize?: number;
  /** Default page size of `repoUnits`. Default 500. */
  readonly unitPageSize?: number;
}

/**
 * The scale-out catalog: the {@link ContentStore} port on MongoDB (official driver), shared by any
 * number of hosts.
 *
 * Units are keyed by the caller's deterministic unit id and artifacts by sha256, so two hosts
 * writing the same unit or file write the same document. The sync path only sends batched
 * requests (unordered bulk writes, `$in` lookups in chunks), each counted in `stats.roundTrips`.
 * No multi-document transactions: rows of an unfinished version are invisible to readers of the
 * committed one and are rolled back by `rollbackVersion` / the next `beginVersion`.
 *
 * @example
 * ```ts
 * const store = new MongoContentStore('mongodb://db1,db2,db3/?replicaSet=rs0', { database: 'tributary' });
 * await store.init();
 * const repo = await store.createRepository({ name: 'epel' });
 * ```
 */
export class MongoContentStore implements ContentStore {
  readonly pipelineBatchSize = 1000;
  /** Not kept here: MongoDB re-syncs compare fingerprints. */
  readonly provenance = undefined;
  readonly stats: StoreStats = { roundTrips: 0 };
  /** Name of the database holding the catalog. */
  readonly database: string;
  private readonly client: MongoClient;
  private readonly ownsClient: boolean;
  private readonly db: Db;
  private readonly collections: CatalogCollections;
  private readonly requests: MongoRequests;
  private readonly repositories: MongoRepositories;
  private readonly units: MongoUnits;
  private readonly content: MongoRepositoryContent;
  private readonly stream: MongoRepoUnitStream;
  private readonly history: MongoSyncHistory;
  private readonly versions: MongoVersions;
  private readonly orphans: MongoOrphans;
  private readonly publications: MongoPublications;
  private readonly distributions: MongoDistributions;
  private readonly keyPageSize: number;
  private readonly unitPageSize: number;

  constructor(uri: string, options: MongoContentStoreOptions = {}) {
    this.database = options.database ?? databaseInUri(uri) ?? 'tributary';
    this.ownsClient = options.client === undefined;
    try {
      this.client = options.client ?? new (mongodbDriver().MongoClient)(uri);
    } catch (error) {
      throw storeError(this.database, 'read the connection string', error);
    }
    this.db = this.client.db(this.database);
    this.collections = catalogCollections(this.db);
    this.requests = new MongoRequests(this.stats, positive(options.chunkSize, 1000));
    this.repositories = new MongoRepositories(this.collections, this.requests);
    this.units = new MongoUnits(this.collections, this.requests);
    this.content = new MongoRepositoryContent(this.collections, this.requests);
    this.stream = new MongoRepoUnitStream(this.collections, this.requests, this.units);
    this.history = new MongoSyncHistory(this.collections, this.requests);
    this.versions = new MongoVersions(this.collections, this.requests, this.repositories);
    this.orphans = new MongoOrphans(this.collections, this.requests);
    this.publications = new MongoPublications(this.collections, this.requests);
    this.distributions = new MongoDistributions(this.collections, this.requests);
    this.keyPageSize = positive(options.keyPageSize, 1000);
    this.unitPageSize = positive(options.unitPageSize, 500);
  }

  /**
   * Connects and creates the collections' missing indexes (by name, so again is a no-op). Each
   * missing index is created in a command of its own, and existing ones are not created again:
   * FerretDB 1.x panics and drops the connection on a `createIndexes` of two or more indexes that
   * already exist (as when two hosts start together).
   */
  async init(): Promise<void> {
    await this.guard('connect and create indexes', async () => {
      await this.requests.one(() => this.client.connect());
      for (const [name, indexes] of Object.entries(CATALOG_INDEXES) as [keyof CatalogCollections, (typeof CATALOG_INDEXES)[keyof CatalogCollections]][]) {
        if (indexes.length === 0) continue;
        const existing = await this.requests.one(() =>
          this.collections[name]
            .listIndexes()
            .toArray()
            .catch((error: { code?: number }) => {
              if (error?.code === 26) return []; // NamespaceNotFound: the collection is new
              throw error;
            }),
        );
        const names = new Set(existing.map((index) => String(index.name)));
        for (const index of indexes) {
          if (!names.has(String(index.name))) await this.requests.one(() => this.collections[name].createIndexes([index]));
        }
      }
    });
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }

  // ---- repositories ----

  createRepository(input: RepositoryInput): Promise<RepositoryRecord> {
    return this.guard('create repository', () => this.repositories.create(input));
  }

  getRepository(name: string): Promise<RepositoryRecord | undefined> {
    return this.guard('get repository', () => this.repositories.byName(name));
  }

  getRepositoryById(id: string): Promise<RepositoryRecord | undefined> {
    return this.guard('get repository', () => this.repositories.byId(id));
  }

  listRepositories(): Promise<RepositoryRecord[]> {
    return this.guard('list repositories', () => this.repositories.list());
  }

  updateRepository(id: string, patch: Partial<RepositoryInput>): Promise<RepositoryRecord> {
    return this.guard('update repository', () => this.repositories.update(id, patch));
  }

  deleteRepository(id: string): Promise<boolean> {
    // publications first, the repository last: a delete cut short can simply be repeated
    return this.guard('delete repository', async () => {
      await this.publications.deleteOfRepository(id);
      return this.repositories.delete(id);
    });
  }

  // ---- lease ----

  acquireLease(repoId: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.guard('acquire lease', () => this.repositories.acquireLease(repoId, holder, ttlMs));
  }

  renewLease(repoId: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.guard('renew lease', () => this.repositories.renewLease(repoId, holder, ttlMs));
  }

  releaseLease(repoId: string, holder: string): Promise<void> {
    return this.guard('release lease', () => this.repositories.releaseLease(repoId, holder));
  }

  getLease(repoId: string): Promise<LeaseRecord | undefined> {
    return this.guard('get lease', () => this.repositories.lease(repoId));
  }

  acquireCatalogLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.guard('acquire catalog lease', () => this.repositories.acquireCatalogLease(name, holder, ttlMs));
  }

  renewCatalogLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.guard('renew catalog lease', () => this.repositories.renewCatalogLease(name, holder, ttlMs));
  }

  releaseCatalogLease(name: string, holder: string): Promise<void> {
    return this.guard('release catalog lease', () => this.repositories.releaseCatalogLease(name, holder));
  }

  getCatalogLease(name: string): Promise<CatalogLeaseRecord | undefined> {
    return this.guard('get catalog lease', () => this.repositories.catalogLease(name));
  }

  // ---- versions ----

  beginVersion(repoId: string): Promise<number> {
    return this.guard('begin version', async () => {
      const next = (await this.repositories.latestVersion(repoId)) + 1;
      await this.content.rollback(repoId, next);
      return next;
    });
  }

  commitVersion(repoId: string, version: number): Promise<void> {
    return this.guard('commit version', () => this.repositories.commitVersion(repoId, version));
  }

  rollbackVersion(repoId: string, version: number): Promise<void> {
    return this.guard('roll back version', async () => {
      const latest = await this.repositories.latestVersion(repoId);
      if (version <= latest) {
        throw new TributaryError(
          ErrorCodes.STORE,
          `cannot roll back version ${version} of repository ${repoId}: it is committed (latest is ${latest})`,
          { details: { repoId, version, latestVersion: latest } },
        );
      }
      await this.content.rollback(repoId, version);
    });
  }

  // ---- version history ----

  recordVersion(record: VersionRecordInput): Promise<void> {
    return this.guard('record version', () => this.versions.record(record));
  }

  listVersionRecords(repoId: string): Promise<VersionRecord[]> {
    return this.guard('list versions', () => this.versions.list(repoId));
  }

  getVersionRecord(repoId: string, version: number): Promise<VersionRecord | undefined> {
    return this.guard('get version', () => this.versions.get(repoId, version));
  }

  deleteVersion(repoId: string, version: number): Promise<{ rows: number }> {
    return this.guard('delete version', () => this.versions.delete(repoId, version));
  }

  diffVersions(repoId: string, from: number, to: number, options: { pageSize?: number } = {}): AsyncIterable<VersionChange> {
    return this.guardStream('diff versions', this.versions.diff(repoId, from, to, positive(options.pageSize, this.keyPageSize)));
  }

  countVersionChanges(repoId: string, from: number, to: number): Promise<VersionChangeCounts> {
    return this.guard('count version changes', () => this.versions.countChanges(repoId, from, to));
  }

  restoreVersion(repoId: string, version: number, from: number): Promise<VersionChangeCounts> {
    return this.guard('restore version', () => this.versions.restore(repoId, version, from));
  }

  copyContent(repoId: string, version: number, source: { readonly repoId: string; readonly version: number }, units: readonly UnitRef[]): Promise<CopyCounts> {
    return this.guard('copy units', () => this.versions.copy(repoId, version, source, units));
  }

  // ---- units and artifacts ----

  upsertUnits(units: readonly UnitWrite[]): Promise<UpsertStatus[]> {
    return this.guard('upsert units', async () => {
      const { statuses, settled } = await this.units.upsertUnitsRevised(units);
      const remotes = units.flatMap((unit) => (unit.remotes ?? []).map((remote) => ({ ...remote, unitId: unit.unitId })));
      // after the units, as the pipeline would: a remote source belongs to a stored unit; a unit
      // this write created or moved to a new revision has its sources in that revision
      if (remotes.length > 0) await this.units.upsertRemoteArtifacts(remotes, settled);
      return statuses;
    });
  }

  findUnits(unitIds: readonly string[]): Promise<ExistingUnit[]> {
    return this.guard('find units', () => this.units.findUnits(unitIds));
  }

  catalogUnits(typeId: string, options: { pageSize?: number } = {}): AsyncIterable<CatalogUnit> {
    const pageSize = positive(options.pageSize, this.unitPageSize);
    const units = this.units;
    async function* pages(): AsyncIterable<CatalogUnit> {
      let after: string | undefined;
      do {
        const page = await units.catalogUnitsPage(typeId, after, pageSize);
        yield* page.items;
        after = page.next;
      } while (after !== undefined);
    }
    return this.guardStream('stream catalog units', pages());
  }

  upsertArtifacts(artifacts: readonly ArtifactRecord[]): Promise<void> {
    return this.guard('upsert artifacts', () => this.units.upsertArtifacts(artifacts));
  }

  findArtifacts(algorithm: DigestAlgorithm, digests: readonly string[]): Promise<ArtifactRecord[]> {
    return this.guard('find artifacts', () => this.units.findArtifacts(algorithm, digests));
  }

  upsertRemoteArtifacts(remotes: readonly RemoteArtifactRecord[]): Promise<void> {
    return this.guard('upsert remote artifacts', () => this.units.upsertRemoteArtifacts(remotes));
  }

  // ---- repository content ----

  associate(repoId: string, version: number, units: readonly AssociateRow[], origin: UnitOrigin): Promise<CountsByType> {
    return this.guard('associate units', () => this.content.associate(repoId, version, units, origin));
  }

  unassociate(repoId: string, version: number, unitIds: readonly string[]): Promise<CountsByType> {
    return this.guard('unassociate units', () => this.content.unassociate(repoId, version, unitIds));
  }

  unassociateUnseen(repoId: string, version: number, includeUserAdded: boolean): Promise<CountsByType> {
    return this.guard('unassociate unseen units', () => this.content.unassociateUnseen(repoId, version, includeUserAdded));
  }

  repoUnitKeys(repoId: string, version: number, typeId?: string): AsyncIterable<RepoUnitKey> {
    return this.guardStream('stream unit keys', this.stream.keys(repoId, version, typeId, this.keyPageSize));
  }

  repoUnits(repoId: string, version: number, options: { typeId?: string; pageSize?: number } = {}): AsyncIterable<RepoUnitView> {
    const pageSize = positive(options.pageSize, this.unitPageSize);
    return this.guardStream('stream units', this.stream.views(repoId, version, options.typeId, pageSize));
  }

  repoUnitFingerprints(repoId: string, version: number, remote: string): AsyncIterable<Float64Array> {
    return this.guardStream('read unit fingerprints', this.stream.fingerprints(repoId, version, remote, this.keyPageSize));
  }

  unitFingerprints(units: readonly UnitWrite[]): Float64Array {
    return fingerprintUnits(units);
  }

  markSeen(repoId: string, version: number, seen: readonly SeenUnit[]): Promise<void> {
    return this.guard('mark units seen', () => this.content.markSeen(repoId, version, seen.map((unit) => unit.unitId)));
  }

  versionChanged(repoId: string, version: number): Promise<boolean> {
    return this.guard('compare versions', () => this.content.versionChanged(repoId, version));
  }

  countRepoUnits(repoId: string, version: number): Promise<CountsByType> {
    return this.guard('count units', () => this.content.countRepoUnits(repoId, version));
  }

  // ---- publications ----

  createPublication(input: PublicationInput): Promise<string> {
    return this.guard('create publication', () => this.publications.create(input));
  }

  addPublicationEntries(publicationId: string, entries: readonly PublicationEntry[]): Promise<number> {
    return this.guard('add publication entries', () => this.publications.addEntries(publicationId, entries));
  }

  completePublication(publicationId: string, summary: PublicationSummary): Promise<void> {
    return this.guard('complete publication', () => this.publications.complete(publicationId, summary));
  }

  deletePublication(publicationId: string): Promise<void> {
    return this.guard('delete publication', () => this.publications.delete(publicationId));
  }

  findPublication(repoId: string, publisherKey: string, maxVersion: number, exact: boolean): Promise<PublicationRecord | undefined> {
    return this.guard('find publication', () => this.publications.find(repoId, publisherKey, maxVersion, exact));
  }

  listPublications(repoId: string): Promise<PublicationRecord[]> {
    return this.guard('list publications', () => this.publications.list(repoId));
  }

  getPublicationEntry(publicationId: string, path: string): Promise<PublicationEntry | undefined> {
    return this.guard('get publication entry', () => this.publications.entry(publicationId, path));
  }

  listPublicationEntries(publicationId: string, options: { prefix?: string; after?: string; limit: number }): Promise<PublicationEntry[]> {
    return this.guard('list publication entries', () => this.publications.entries(publicationId, options));
  }

  // ---- distributions ----

  createDistribution(input: DistributionInput): Promise<DistributionRecord> {
    return this.guard('create distribution', () => this.distributions.create(input));
  }

  getDistribution(name: string): Promise<DistributionRecord | undefined> {
    return this.guard('get distribution', () => this.distributions.get(name));
  }

  listDistributions(): Promise<DistributionRecord[]> {
    return this.guard('list distributions', () => this.distributions.list());
  }

  updateDistribution(name: string, patch: Partial<Omit<DistributionInput, 'name'>>): Promise<DistributionRecord> {
    return this.guard('update distribution', () => this.distributions.update(name, patch));
  }

  deleteDistribution(name: string): Promise<boolean> {
    return this.guard('delete distribution', () => this.distributions.delete(name));
  }

  // ---- sync history ----

  startSyncRecord(record: SyncRecordStart): Promise<string> {
    return this.guard('start sync record', () => this.history.start(record));
  }

  finishSyncRecord(id: string, outcome: SyncRecordOutcome): Promise<void> {
    return this.guard('finish sync record', () => this.history.finish(id, outcome));
  }

  listSyncRecords(repoId: string, limit?: number): Promise<SyncRecord[]> {
    return this.guard('list sync records', () => this.history.list(repoId, limit));
  }

  lastFingerprint(repoId: string, settingsHash: string): Promise<string | undefined> {
    return this.guard('read last fingerprint', () => this.history.lastFingerprint(repoId, settingsHash));
  }

  // ---- orphans ----

  deleteOrphans(options: OrphanOptions = {}): Promise<{ units: number; artifacts: string[] }> {
    return this.guard('delete orphans', () => this.orphans.deleteOrphans(options.storedBefore));
  }

  // ---- plumbing ----

  /** Runs one store operation, turning driver errors into TRIBUTARY_ERR_STORE naming the operation. */
  private async guard<T>(operation: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw storeError(this.database, operation, error);
    }
  }

  /** Passes a stream through, turning its driver errors into TRIBUTARY_ERR_STORE naming the operation. */
  private async *guardStream<T>(operation: string, items: AsyncIterable<T>): AsyncIterable<T> {
    const iterator = items[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await this.guard(operation, () => iterator.next());
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  }
}

/** The database named in a `mongodb://host/db?…` connection string, if any. */
function databaseInUri(uri: string): string | undefined {
  const match = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]+)/.exec(uri);
  return match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

function storeError(database: string, operation: string, error: unknown): TributaryError {
  if (isTributaryError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const mongoCode = (error as { code?: unknown } | null)?.code;
  return new TributaryError(ErrorCodes.STORE, `MongoDB catalog '${database}': could not ${operation}: ${message}`, {
    cause: error,
    details: { database, operation, ...(typeof mongoCode === 'number' || typeof mongoCode === 'string' ? { mongoCode } : {}) },
  });
}
