import type {
  ArtifactRecord,
  CountsByType,
  DigestAlgorithm,
  DownloadPolicy,
  Digests,
  ExistingUnit,
  RepoUnitKey,
  SyncReport,
  UnitKey,
  UnitOrigin,
} from '@tributary/plugin-api';
import type { SourceDigest } from './unit-fingerprint.js';

/**
 * The ContentStore port: the catalog's data model (DESIGN.md, "Data model") behind one interface,
 * grouped by aggregate. Every implementation passes one store conformance suite
 * (test/store-conformance).
 *
 * Rules every implementation keeps:
 * - Every method is one round trip to the database, whatever the array sizes it is given
 *   (implementations split into chunks internally if they must, counting each chunk in `stats`).
 *   The sync path never calls per unit.
 * - A version being written (N+1) is invisible to readers of the committed version N: readers pass
 *   the version they read, and rows carry the version that added / removed them.
 * - No multi-document transactions are needed for correctness: rows of an uncommitted version are
 *   rolled back by `rollbackVersion`, and `beginVersion` rolls back a stale uncommitted version left
 *   by a crashed host before handing out the number again.
 * - A committed version never changes (DESIGN.md, "Serving, publications, versions"). Units are
 *   shared by key across repositories and versions, and a sync may write a unit's metadata, files
 *   or remote sources anew; so a content row pins the unit revision it shows. Writing a unit that
 *   changes keeps its previous state as a revision (only for units content rows refer to; an
 *   unchanged unit costs nothing), then moves the unit to a new revision; `associate` moves a
 *   present unit of the version being written to the unit's current revision (the row of the base
 *   version ends there, a new one starts). Readers of a version see each row's pinned revision;
 *   `findUnits` sees the current one. `deleteOrphans` drops revisions no row pins.
 *
 * Capabilities only some stores have are separate interfaces reached through a property that is
 * undefined where the store lacks them ({@link ContentStore.provenance}); callers check it once.
 */
export interface ContentStore
  extends RepositoryStore,
    UnitStore,
    ArtifactStore,
    RepositoryContentStore,
    VersionHistoryStore,
    PublicationStore,
    DistributionStore,
    LeaseStore,
    SyncHistoryStore {
  /** Round trips made so far (one per method call, or per chunk where one call is split). */
  readonly stats: StoreStats;
  /**
   * Content per batch the store handles best in a sync's pipeline; the pipeline batches by the
   * smaller of this and the host's `batchSize`.
   */
  readonly pipelineBatchSize: number;
  /** Content provenance, where the store keeps it; undefined otherwise. */
  readonly provenance: ProvenanceStore | undefined;

  /** Creates tables / collections and indexes; idempotent. */
  init(): Promise<void>;
  close(): Promise<void>;
}

/** Repositories and their versions. */
export interface RepositoryStore {
  /** Throws TRIBUTARY_ERR_REPO_EXISTS if the name is taken. */
  createRepository(input: RepositoryInput): Promise<RepositoryRecord>;
  getRepository(name: string): Promise<RepositoryRecord | undefined>;
  getRepositoryById(id: string): Promise<RepositoryRecord | undefined>;
  listRepositories(): Promise<RepositoryRecord[]>;
  /** Updates importer settings; never the version pointer. */
  updateRepository(id: string, patch: Partial<RepositoryInput>): Promise<RepositoryRecord>;
  /**
   * Removes the repository, its content rows, history, lease and publications (units and
   * artifacts become orphans). Distributions pointing at it are kept and serve nothing.
   */
  deleteRepository(id: string): Promise<boolean>;
  /**
   * Starts version `latestVersion + 1` for writing: first rolls back any rows a crashed writer left
   * under that number, then returns it. The caller must hold the lease.
   */
  beginVersion(repoId: string): Promise<number>;
  /** Moves the latest-version pointer from `version - 1` to `version` (the commit). */
  commitVersion(repoId: string, version: number): Promise<void>;
  /** Undoes every content-row change made under `version`; the pointer is untouched. */
  rollbackVersion(repoId: string, version: number): Promise<void>;
  /**
   * Whether the in-progress `version` holds anything other than `version - 1` does: a unit added
   * or removed, or a unit shown in another revision or with another origin (what `associate` and
   * `unassociate*` count covers only the first). A sync commits a version only when it does.
   */
  versionChanged(repoId: string, version: number): Promise<boolean>;
}

/** Units: type, key, metadata and the files they name. */
export interface UnitStore {
  /**
   * Idempotent upsert by unit id (a deterministic hash of type and canonical key, computed by the
   * caller). Also replaces the unit's unit-artifact rows for the relative paths given (rows for
   * paths not given are kept); a null sha256 never erases a known one, so an on-demand sync of
   * content an earlier sync stored keeps the reference to the bytes. Returns, per input in order,
   * whether the unit was created, had its metadata changed, or was already identical.
   */
  upsertUnits(units: readonly UnitWrite[]): Promise<UpsertStatus[]>;
  /**
   * Units by id; ids not stored are absent. Includes their unit-artifact rows, and may include
   * their remote sources (`ExistingUnit.remotes`).
   */
  findUnits(unitIds: readonly string[]): Promise<ExistingUnit[]>;
  /**
   * Streams every unit of type `typeId` in the catalog (whether any repository holds it or not),
   * current revision, in an order of the store's choosing, `pageSize` per read; nothing stays open
   * between pages.
   */
  catalogUnits(typeId: string, options?: { pageSize?: number }): AsyncIterable<CatalogUnit>;
  /**
   * The fingerprints of the rows writing each of `units` into an empty catalog would store, in
   * order, in the layout of unit-fingerprint.ts; computed where it is called, no round trip.
   */
  unitFingerprints(units: readonly UnitWrite[]): Float64Array;
}

/** Artifacts (stored bytes by sha256), remote artifacts (where deferred bytes come from), orphans. */
export interface ArtifactStore {
  /** Records stored artifacts (idempotent by sha256; merges in digests not known before). */
  upsertArtifacts(artifacts: readonly ArtifactRecord[]): Promise<void>;
  /** Artifacts whose digest of `algorithm` is one of `digests` (lower-case hex). */
  findArtifacts(algorithm: DigestAlgorithm, digests: readonly string[]): Promise<ArtifactRecord[]>;
  /** Upserts remote artifacts by (unitId, relativePath, remote). */
  upsertRemoteArtifacts(remotes: readonly RemoteArtifactRecord[]): Promise<void>;
  /**
   * Deletes unit revisions no repository content row pins, units that are in no repository content
   * row (of any version) together with their unit-artifact and remote-artifact rows, then artifacts
   * referenced by no unit-artifact row of a unit or of a kept revision nor by any publication
   * entry (generated files live only there). Returns the sha256 of deleted artifacts so the caller removes their files.
   *
   * With `storedBefore` (epoch ms), units and artifacts stored (written) at or after it are kept,
   * and so are the artifacts such a unit names: the protection time. Rows written before stores
   * kept the time count as old.
   */
  deleteOrphans(options?: OrphanOptions): Promise<{ units: number; artifacts: string[] }>;
}

/**
 * Which units each version of a repository holds, and as what: a committed version never changes.
 * Rows pin a unit revision (see {@link ContentStore}): every reader of version N (`repoUnits`,
 * `repoUnitFingerprints`, provenance) returns exactly what it returned when N was committed,
 * whatever was written for the same units since, by this repository's syncs or any other's.
 */
export interface RepositoryContentStore {
  /**
   * Adds units to the in-progress `version`. A unit already present (in the committed version or
   * earlier in this one) is only marked seen by `version`, and shown in its current revision from
   * `version` on (which is no addition); origin 'user' is sticky. Returns the
   * units newly added, counted by type. Units must be in the catalog: a unit given without its key
   * that the catalog does not hold is refused with `TRIBUTARY_ERR_INVALID_ARGUMENT` before anything
   * is written (a store may check every unit).
   */
  associate(repoId: string, version: number, units: readonly AssociateRow[], origin: UnitOrigin): Promise<CountsByType>;
  /** Removes units (by id) from the in-progress `version`. Returns removed counts by type. */
  unassociate(repoId: string, version: number, unitIds: readonly string[]): Promise<CountsByType>;
  /**
   * Removes from `version` every unit present in `version - 1` that `version` has not associated
   * (seen). Units with origin 'user' are kept unless `includeUserAdded`. Returns counts by type.
   */
  unassociateUnseen(repoId: string, version: number, includeUserAdded: boolean): Promise<CountsByType>;
  /** Streams type + key + origin of every unit in `version` (one query, cursor/iteration inside). */
  repoUnitKeys(repoId: string, version: number, typeId?: string): AsyncIterable<RepoUnitKey>;
  /**
   * Streams units of `version` with metadata and artifacts (joined with artifact sizes and remote
   * artifacts), in pages of `pageSize`, ordered by type, then in an order of the store's choosing
   * that every page size and {@link repoUnitKeys} agree on (e.g. the order units entered the
   * catalog, or unit id).
   */
  repoUnits(repoId: string, version: number, options?: { typeId?: string; pageSize?: number }): AsyncIterable<RepoUnitView>;
  /** Units in `version`, counted by type. */
  countRepoUnits(repoId: string, version: number): Promise<CountsByType>;
  /**
   * The fingerprint of every unit of `version` as stored, with only `remote`'s sources, page by
   * page in the stored layout of unit-fingerprint.ts. A re-sync compares them with
   * {@link UnitStore.unitFingerprints} of what it is about to write and skips the content that
   * would change nothing.
   */
  repoUnitFingerprints(repoId: string, version: number, remote: string): AsyncIterable<Float64Array>;
  /**
   * Marks units of the base version that are still present seen by the in-progress `version`, as
   * `associate` marks units already present. Each is named by unit id and by the content row its
   * fingerprint page gave; a store uses whichever it keys by.
   */
  markSeen(repoId: string, version: number, seen: readonly SeenUnit[]): Promise<void>;
}

/**
 * The history of a repository's versions: a record of what made each (written when it is
 * committed), which are deleted, what two versions hold differently, and the bulk changes that
 * build a new version out of committed ones (a rollback's restore, a copy).
 *
 * Deleting version N changes no other version: content rows span ranges of versions, so N is only
 * marked deleted (callers refuse to read it: {@link getVersionRecord}) and the rows visible in no
 * remaining version (every version of their range deleted) are reclaimed at once; the units they
 * named may then be orphans. The latest version, and one a distribution pins, cannot be deleted.
 * Every writer here holds the repository's lease.
 */
export interface VersionHistoryStore {
  /**
   * Records what made committed `record.version` (replacing the record of that version, if any;
   * a version's deletion mark is kept).
   */
  recordVersion(record: VersionRecordInput): Promise<void>;
  /** The records of the repository's versions (deleted ones too), by version number. */
  listVersionRecords(repoId: string): Promise<VersionRecord[]>;
  /** The record of one version: undefined when none was written (a version committed before records were kept). */
  getVersionRecord(repoId: string, version: number): Promise<VersionRecord | undefined>;
  /**
   * Deletes committed `version` (see above) and its publications. TRIBUTARY_ERR_VERSION_IN_USE for
   * the latest version or one a distribution pins (naming it), TRIBUTARY_ERR_VERSION_NOT_FOUND for
   * one the repository does not have or already deleted. Returns the content rows reclaimed.
   */
  deleteVersion(repoId: string, version: number): Promise<{ rows: number }>;
  /**
   * Streams what version `to` holds that `from` does not ('added') and what `from` holds that `to`
   * does not ('removed'): every added change, then every removed one, `pageSize` per read, from
   * the content rows' version ranges (only rows that start or end between the two versions are
   * read). Both versions must be committed and not deleted.
   */
  diffVersions(repoId: string, from: number, to: number, options?: { pageSize?: number }): AsyncIterable<VersionChange>;
  /** {@link diffVersions} counted by type and kind of change, without streaming the units. */
  countVersionChanges(repoId: string, from: number, to: number): Promise<VersionChangeCounts>;
  /**
   * Makes the in-progress `version` hold exactly what committed version `from` holds: the same
   * units, each in the unit revision and with the origin `from`'s row shows (a committed version
   * never changes, so the revision is part of what it holds). Rows of `version - 1` that `from`
   * does not hold identically end at `version`; `from`'s rows missing from it start there. Bulk:
   * a few statements whatever the repository's size. Returns what changed against `version - 1`.
   */
  restoreVersion(repoId: string, version: number, from: number): Promise<VersionChangeCounts>;
  /**
   * Adds `units` to the in-progress `version` as version `source.version` of repository
   * `source.repoId` shows them (the same unit revision), with origin 'user'. A unit already
   * present in that revision is left as it is; one present in another revision is shown in the
   * source's from here on (`replaced`); units the source version does not hold are ignored.
   */
  copyContent(repoId: string, version: number, source: { readonly repoId: string; readonly version: number }, units: readonly UnitRef[]): Promise<CopyCounts>;
}

/**
 * Content provenance (a capability: a store may keep it): with each content row, the digest of the
 * upstream record its unit was built from ({@link AssociateRow.source}, {@link SeenUnit.source})
 * and the unit's revision then. A re-sync that meets content with the same source skips it without
 * building the row it would write.
 */
export interface ProvenanceStore {
  /**
   * The content rows of `version` whose recorded source still holds (the row shows the revision
   * the source was recorded with, and the unit has not been written since), page by page in the stored layout of unit-fingerprint.ts, with the source
   * digest where a fingerprint is.
   */
  repoUnitSources(repoId: string, version: number): AsyncIterable<Float64Array>;
}

/**
 * Publications: the immutable file tree of one repository version as one publisher (with one set
 * of options) laid it out. Written in three steps (create, add entries in batches, complete);
 * readers only ever see complete publications. Two hosts may build the same publication at once:
 * both complete, readers take the newest.
 */
export interface PublicationStore {
  /** Starts a publication (invisible to readers until completed); returns its id. */
  createPublication(input: PublicationInput): Promise<string>;
  /**
   * Adds entries to an incomplete publication. A path already in the publication (from an earlier
   * batch or earlier in this one) keeps its first entry; returns how many entries were added.
   */
  addPublicationEntries(publicationId: string, entries: readonly PublicationEntry[]): Promise<number>;
  /** Makes the publication visible, with its summary. */
  completePublication(publicationId: string, summary: PublicationSummary): Promise<void>;
  /** Deletes a publication (complete or not) and its entries. */
  deletePublication(publicationId: string): Promise<void>;
  /**
   * The newest complete publication of `repoId` by `publisherKey` whose version is at most
   * `maxVersion` (exactly `maxVersion` when `exact`).
   */
  findPublication(repoId: string, publisherKey: string, maxVersion: number, exact: boolean): Promise<PublicationRecord | undefined>;
  /** Publications of a repository, complete or not, newest first. */
  listPublications(repoId: string): Promise<PublicationRecord[]>;
  /** One entry by exact relative path. */
  getPublicationEntry(publicationId: string, path: string): Promise<PublicationEntry | undefined>;
  /**
   * Entries in path order (code-unit order of the path), starting after `after` (exclusive) and
   * only those starting with `prefix`, at most `limit`.
   */
  listPublicationEntries(publicationId: string, options: { prefix?: string; after?: string; limit: number }): Promise<PublicationEntry[]>;
}

export interface PublicationInput {
  readonly repoId: string;
  readonly version: number;
  /** Identifies the publisher and its options: `<plugin name>:<hash of canonical options>`. */
  readonly publisherKey: string;
  readonly publisher: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
}

export interface PublicationSummary {
  readonly files: number;
  readonly bytes: number;
  /** Paths more than one unit claimed (the first was kept). */
  readonly conflicts: number;
  /** What the publisher wants remembered (e.g. which repodata it chose and why). */
  readonly info: Readonly<Record<string, unknown>>;
  readonly completedAt: string;
}

export interface PublicationRecord extends PublicationInput {
  readonly id: string;
  readonly complete: boolean;
  /** Present once complete. */
  readonly summary: PublicationSummary | null;
}

/** One file of a publication. */
export interface PublicationEntry {
  /** Relative path in the tree (validated, '/'-separated). */
  readonly path: string;
  /** 'artifact': a unit's file (stored or remote); 'generated': a file the publisher wrote (always stored). */
  readonly kind: 'artifact' | 'generated';
  /** Stored bytes, when they were stored at publish time (always for 'generated'). */
  readonly sha256: string | null;
  readonly size: number | null;
  /** Expected digests (lower-case hex): how bytes fetched later are verified and found in storage. */
  readonly digests: Digests;
  /** Where deferred bytes come from (empty when stored). */
  readonly urls: readonly string[];
  /** The unit the file belongs to ('artifact' only). */
  readonly unitId: string | null;
}

/**
 * Distributions: a name and a base path under which the content app serves a repository, either
 * its latest version (following every commit) or a fixed one.
 */
export interface DistributionStore {
  /**
   * Throws TRIBUTARY_ERR_DISTRIBUTION_EXISTS if the name is taken and
   * TRIBUTARY_ERR_BASE_PATH_CONFLICT if the base path equals another's (nesting is the caller's check).
   */
  createDistribution(input: DistributionInput): Promise<DistributionRecord>;
  getDistribution(name: string): Promise<DistributionRecord | undefined>;
  listDistributions(): Promise<DistributionRecord[]>;
  /** Same conflicts as create; TRIBUTARY_ERR_DISTRIBUTION_NOT_FOUND when there is no such name. */
  updateDistribution(name: string, patch: Partial<Omit<DistributionInput, 'name'>>): Promise<DistributionRecord>;
  deleteDistribution(name: string): Promise<boolean>;
}

export interface DistributionInput {
  readonly name: string;
  readonly basePath: string;
  readonly repoId: string;
  /** A fixed version, or null to follow the latest. */
  readonly version: number | null;
  /** Options given to the repository's publisher. */
  readonly publishOptions: Readonly<Record<string, unknown>>;
}

export interface DistributionRecord extends DistributionInput {
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * The lease: one sync (or other change) per repository at a time; and catalog-wide leases by name
 * (orphan cleanup's: see the host's cleanup gate), with the same rules.
 */
export interface LeaseStore {
  /**
   * Takes the repository's lease for `holder` in a single atomic operation when it is free or
   * expired (or already held by `holder`); returns false when another holder has a live lease.
   */
  acquireLease(repoId: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Extends a lease still held by `holder`; false when it was lost (expired and taken). */
  renewLease(repoId: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(repoId: string, holder: string): Promise<void>;
  getLease(repoId: string): Promise<LeaseRecord | undefined>;
  /** {@link acquireLease} of the catalog-wide lease `name`. */
  acquireCatalogLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  renewCatalogLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseCatalogLease(name: string, holder: string): Promise<void>;
  getCatalogLease(name: string): Promise<CatalogLeaseRecord | undefined>;
}

/** One record per sync. */
export interface SyncHistoryStore {
  /** Starts a history record (status 'running'); returns its id. */
  startSyncRecord(record: SyncRecordStart): Promise<string>;
  finishSyncRecord(id: string, outcome: SyncRecordOutcome): Promise<void>;
  /** Newest first. */
  listSyncRecords(repoId: string, limit?: number): Promise<SyncRecord[]>;
  /**
   * Fingerprint of the newest successful sync of `repoId`, if its settings hash equals
   * `settingsHash`: only the sync that produced what the repository holds now can tell that
   * nothing changed upstream (an older one with the same settings may predate other content).
   */
  lastFingerprint(repoId: string, settingsHash: string): Promise<string | undefined>;
}

export interface StoreStats {
  roundTrips: number;
}

export interface RepositoryInput {
  readonly name: string;
  readonly importer?: string | null;
  readonly feedUrl?: string | null;
  /** The download policy a sync that names none uses (remembered from the last successful sync). */
  readonly policy?: DownloadPolicy | null;
  readonly config?: Readonly<Record<string, unknown>> | null;
  readonly description?: string | null;
  /** Keep only the newest this many versions (older ones are deleted after each commit); null: keep all. */
  readonly retainVersions?: number | null;
}

export interface RepositoryRecord {
  readonly id: string;
  readonly name: string;
  readonly importer: string | null;
  readonly feedUrl: string | null;
  readonly policy: DownloadPolicy | null;
  readonly config: Record<string, unknown> | null;
  readonly description: string | null;
  readonly retainVersions: number | null;
  /** 0 for a new repository: version 0 is empty. */
  readonly latestVersion: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface LeaseRecord {
  readonly repoId: string;
  readonly holder: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

export interface CatalogLeaseRecord {
  readonly name: string;
  readonly holder: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

export interface OrphanOptions {
  /** Epoch ms: units and artifacts stored at or after it are kept (the protection time). */
  readonly storedBefore?: number;
}

/** A unit as the catalog holds it now ({@link UnitStore.catalogUnits}). */
export interface CatalogUnit {
  readonly unitId: string;
  readonly typeId: string;
  readonly key: UnitKey;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** A unit by id and type. */
export interface UnitRef {
  readonly unitId: string;
  readonly typeId: string;
}

/** What made a version: a sync, a rollback, a copy, a user's change of units; 'unknown' before records were kept. */
export type VersionKind = 'sync' | 'rollback' | 'copy' | 'modify' | 'unknown';

export interface VersionRecordInput {
  readonly repoId: string;
  readonly version: number;
  readonly createdAt: string;
  readonly kind: VersionKind;
  /** The sync's history record (kind 'sync'). */
  readonly syncId: string | null;
  /** What the operation was, in words (`rollback to version 1`, `copy from 'a' version 3 …`). */
  readonly note: string | null;
  /** Units the version holds, by type. */
  readonly counts: CountsByType;
  /** The version `added` and `removed` compare with; null: the empty state. */
  readonly base: number | null;
  readonly added: CountsByType;
  readonly removed: CountsByType;
}

export interface VersionRecord extends VersionRecordInput {
  /** When it was deleted; null while it exists. */
  readonly deletedAt: string | null;
}

/** One unit two versions hold differently ({@link VersionHistoryStore.diffVersions}). */
export interface VersionChange {
  readonly change: 'added' | 'removed';
  readonly unitId: string;
  readonly typeId: string;
  readonly key: UnitKey;
}

export interface VersionChangeCounts {
  readonly added: CountsByType;
  readonly removed: CountsByType;
}

export interface CopyCounts {
  readonly added: CountsByType;
  readonly replaced: CountsByType;
}

export interface UnitArtifactWrite {
  readonly relativePath: string;
  /** sha256 of stored bytes, or null while the bytes are deferred (on-demand). */
  readonly sha256: string | null;
}

export interface UnitWrite {
  readonly unitId: string;
  readonly typeId: string;
  readonly key: UnitKey;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** `metadata` as JSON text when the plugin gave it so: stores that keep text keep this one. */
  readonly metadataJson?: string;
  readonly artifacts: readonly UnitArtifactWrite[];
  /**
   * Remote sources to upsert with the unit, as {@link ContentStore.upsertRemoteArtifacts} would
   * (by relative path and remote; others are kept). Written with the unit in one go where the
   * store can.
   */
  readonly remotes?: readonly Omit<RemoteArtifactRecord, 'unitId'>[];
}

export type UpsertStatus = 'created' | 'updated' | 'unchanged';

/** A unit to mark seen (ContentStore.markSeen): its id, and its content row as a fingerprint page gave it. */
export interface SeenUnit {
  readonly unitId: string;
  readonly contentRow: number;
  /** The content's source digest to record with the row (as {@link AssociateRow.source}). */
  readonly source?: SourceDigest;
}

export interface AssociateRow {
  readonly unitId: string;
  readonly typeId: string;
  /** The unit's key, when the caller has it: saves a store that keys content by it a look-up for new rows. */
  readonly key?: UnitKey;
  /**
   * Digest of the upstream record and sync settings this unit was written from; a store with
   * {@link ContentStore.provenance} records it with the content row, together with the
   * unit's state now. Stores without provenance ignore it.
   */
  readonly source?: SourceDigest;
}

export interface RemoteArtifactRecord {
  readonly unitId: string;
  readonly relativePath: string;
  /** Identifies the upstream (the repository's feed url). */
  readonly remote: string;
  readonly urls: readonly string[];
  readonly size: number | null;
  readonly digests: Digests;
}

export interface RepoUnitView {
  readonly unitId: string;
  readonly typeId: string;
  readonly key: UnitKey;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly origin: UnitOrigin;
  readonly artifacts: readonly RepoUnitArtifactView[];
}

export interface RepoUnitArtifactView {
  readonly relativePath: string;
  /** Known sha256: of stored bytes, or the remote's expected one; null if unknown. */
  readonly sha256: string | null;
  readonly size: number | null;
  /** Whether the bytes are in storage. */
  readonly stored: boolean;
  /** Remote urls for on-demand fetch (empty when none recorded). */
  readonly remoteUrls: readonly string[];
  readonly digests: Digests;
}

export type SyncStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface SyncRecordStart {
  readonly repoId: string;
  readonly importer: string;
  readonly settingsHash: string;
  readonly version: number;
  readonly startedAt: string;
}

export interface SyncRecordOutcome {
  readonly status: Exclude<SyncStatus, 'running'>;
  readonly finishedAt: string;
  readonly report: SyncReport | null;
  /** Typed error as JSON ({ code, message, details }) when failed. */
  readonly error: Record<string, unknown> | null;
  readonly fingerprint: string | null;
  /** The version the repository is at after the sync (the new one, or unchanged). */
  readonly resultVersion: number;
}

export interface SyncRecord extends SyncRecordStart, Partial<Omit<SyncRecordOutcome, 'status'>> {
  readonly id: string;
  readonly status: SyncStatus;
}
