import type { Collection, Db, IndexDescription, ObjectId } from 'mongodb';
import type { Digests, UnitOrigin } from '@tributary/plugin-api';
import type { SyncStatus } from '../content-store.js';

/**
 * The MongoDB catalog's documents, one collection per entity of the data model (DESIGN.md).
 *
 * Objects whose field names come from plugins or users (unit keys and metadata, repository config,
 * sync reports, errors) are stored as JSON text: their names may contain `.` or start with `$`,
 * which MongoDB restricts and FerretDB refuses, and the text compares exactly as the SQLite store's.
 * Field names Tributary chooses are plain BSON, so they can be queried and indexed.
 */

export interface RepositoryDoc {
  /** A random UUID. */
  _id: string;
  name: string;
  latestVersion: number;
  importer: string | null;
  feedUrl: string | null;
  /** Absent in documents written before hosts remembered it. */
  policy?: 'immediate' | 'on_demand' | null;
  /** JSON text, or null. */
  config: string | null;
  description: string | null;
  /** Absent in documents written before retention existed: keep every version. */
  retainVersions?: number | null;
  createdAt: string;
  updatedAt: string;
}

/** A catalog-wide lease (orphan cleanup's): `_id` is its name. */
export interface CatalogLeaseDoc {
  _id: string;
  holder: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/**
 * What made one version of a repository, or that it was deleted: `_id` is `${repoId}/${version}`.
 * Counts are JSON text (their names are content types, which contain dots).
 */
export interface VersionDoc {
  _id: string;
  repoId: string;
  version: number;
  createdAt: string;
  kind: string;
  syncId: string | null;
  note: string | null;
  counts: string;
  base: number | null;
  added: string;
  removed: string;
  /** Set once the version is deleted; absent or null while it exists. */
  deletedAt?: string | null;
}

/** One sync per repository at a time: `_id` is the repository id, so inserting it is the atomic step. */
export interface LeaseDoc {
  _id: string;
  holder: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface UnitDoc {
  /** The caller's deterministic unit id (hash of type and canonical key). */
  _id: string;
  typeId: string;
  /** JSON text of the unit key. */
  key: string;
  /** Canonical JSON text (sorted keys), compared as text to tell `updated` from `unchanged`. */
  metadata: string;
  /** The unit-artifact rows, embedded: they are only ever read and written with their unit. */
  artifacts: UnitArtifactEntry[];
  /**
   * The unit's revision: bumped by a write that changes what a content row referring to the unit
   * shows (its metadata, files or remote sources), after the state it replaces was kept in
   * `unit_revisions`. Absent (documents written before revisions) reads as 0.
   */
  rev?: number;
  /** Epoch ms of the last write (orphan cleanup's protection time); absent: written before it was kept, so old. */
  storedAt?: number;
}

export interface UnitArtifactEntry {
  relativePath: string;
  /** sha256 of the stored bytes, or null while deferred. */
  sha256: string | null;
}

/** `_id` is the sha256; the other digests are fields named after their algorithm, set once known. */
export interface ArtifactDoc {
  _id: string;
  size: number;
  md5?: string;
  sha1?: string;
  sha224?: string;
  sha384?: string;
  sha512?: string;
  /** Epoch ms the bytes were last stored (orphan cleanup's protection time); absent: old. */
  storedAt?: number;
}

export interface RemoteArtifactDoc {
  /** sha256 of unit id, relative path and remote: one document per (unit, path, remote). */
  _id: string;
  unitId: string;
  relativePath: string;
  remote: string;
  urls: string[];
  size: number | null;
  digests: Digests;
}

/**
 * One stretch of versions a unit spends in a repository: visible in version V when
 * `versionAdded <= V` and (`versionRemoved` is null or `> V`). `_id` is repository, unit and
 * `versionAdded`: a (repository, unit) pair never starts two stretches in one version, so writing a
 * row again (a retried request) can only rewrite the same row.
 */
export interface ContentDoc {
  _id: string;
  repoId: string;
  unitId: string;
  typeId: string;
  /**
   * JSON text of the unit's key, copied from the unit (it never changes: the unit id is a hash of
   * it), so streaming a repository's keys reads content rows only. Null if the unit was not stored.
   */
  key: string | null;
  versionAdded: number;
  versionRemoved: number | null;
  origin: UnitOrigin;
  /**
   * The unit revision the row shows (a committed version never changes): the unit document while
   * its `rev` is this, otherwise the {@link UnitRevisionDoc} kept of it. Absent reads as 0.
   */
  unitRev?: number;
}

/**
 * A superseded state of a unit that content rows still show: its metadata, files and remote
 * sources as they were at revision `rev`. `_id` is `${unitId}:${rev}`; written once, never changed.
 */
export interface UnitRevisionDoc {
  _id: string;
  unitId: string;
  rev: number;
  metadata: string;
  artifacts: UnitArtifactEntry[];
  /** The unit's remote artifacts then, sorted by (path, remote). */
  remotes: Omit<RemoteArtifactDoc, '_id' | 'unitId'>[];
}

export function unitRevisionId(unitId: string, rev: number): string {
  return `${unitId}:${rev}`;
}

/**
 * "The version being written associated this unit again": what a mirror sync keeps. A separate,
 * insert-only document rather than a field updated on every content row, because a re-sync marks
 * every unit of the repository and inserts are what MongoDB-wire servers batch best (FerretDB runs
 * each updated document as its own transaction). Marks of other versions than the one being
 * written mean nothing; rolling back or beginning a version deletes them all.
 */
export interface SeenDoc {
  /** Repository, unit and version. */
  _id: string;
  repoId: string;
  version: number;
}

export interface SyncHistoryDoc {
  /** ObjectId: ties between equal `startedAt` fall back to creation order. */
  _id: ObjectId;
  repoId: string;
  importer: string;
  settingsHash: string;
  version: number;
  startedAt: string;
  status: SyncStatus;
  finishedAt?: string;
  /** JSON text. */
  report?: string | null;
  /** JSON text. */
  error?: string | null;
  fingerprint?: string | null;
  resultVersion?: number;
}

/** A publication: complete (`complete: true`, with its summary) or still being written. */
export interface PublicationDoc {
  /** A random UUID. */
  _id: string;
  repoId: string;
  version: number;
  publisherKey: string;
  publisher: string;
  /** JSON text of the publisher's options. */
  options: string;
  createdAt: string;
  complete: boolean;
  summary: PublicationSummaryDoc | null;
}

export interface PublicationSummaryDoc {
  files: number;
  bytes: number;
  conflicts: number;
  /** JSON text of what the publisher wants remembered. */
  info: string;
  completedAt: string;
}

/** One file of a publication; (publicationId, path) is unique. */
export interface PublicationEntryDoc {
  _id?: ObjectId;
  publicationId: string;
  path: string;
  kind: 'artifact' | 'generated';
  sha256: string | null;
  size: number | null;
  digests: Digests;
  urls: string[];
  unitId: string | null;
}

/** A distribution: `_id` is its name. */
export interface DistributionDoc {
  _id: string;
  basePath: string;
  repoId: string;
  version: number | null;
  /** JSON text of the options given to the publisher. */
  publishOptions: string;
  createdAt: string;
  updatedAt: string;
}

export interface CatalogCollections {
  readonly repositories: Collection<RepositoryDoc>;
  readonly leases: Collection<LeaseDoc>;
  readonly catalogLeases: Collection<CatalogLeaseDoc>;
  readonly versions: Collection<VersionDoc>;
  readonly units: Collection<UnitDoc>;
  readonly artifacts: Collection<ArtifactDoc>;
  readonly remoteArtifacts: Collection<RemoteArtifactDoc>;
  readonly content: Collection<ContentDoc>;
  readonly unitRevisions: Collection<UnitRevisionDoc>;
  readonly seen: Collection<SeenDoc>;
  readonly history: Collection<SyncHistoryDoc>;
  readonly publications: Collection<PublicationDoc>;
  readonly publicationEntries: Collection<PublicationEntryDoc>;
  readonly distributions: Collection<DistributionDoc>;
}

export function catalogCollections(db: Db): CatalogCollections {
  return {
    repositories: db.collection<RepositoryDoc>('repositories'),
    leases: db.collection<LeaseDoc>('leases'),
    catalogLeases: db.collection<CatalogLeaseDoc>('catalog_leases'),
    versions: db.collection<VersionDoc>('repository_versions'),
    units: db.collection<UnitDoc>('units'),
    artifacts: db.collection<ArtifactDoc>('artifacts'),
    remoteArtifacts: db.collection<RemoteArtifactDoc>('remote_artifacts'),
    content: db.collection<ContentDoc>('repository_content'),
    unitRevisions: db.collection<UnitRevisionDoc>('unit_revisions'),
    seen: db.collection<SeenDoc>('repository_content_seen'),
    history: db.collection<SyncHistoryDoc>('sync_history'),
    publications: db.collection<PublicationDoc>('publications'),
    publicationEntries: db.collection<PublicationEntryDoc>('publication_entries'),
    distributions: db.collection<DistributionDoc>('distributions'),
  };
}

/**
 * Indexes, by collection. Named, so creating them again is a no-op. Unique indexes are only on
 * fields every document has (`repositories.name`, `publication_entries` (publicationId, path),
 * `distributions.basePath`), and nothing relies on a unique index refusing an update (FerretDB 1.x
 * refuses it with an error that is no duplicate-key error): updates check first. Inserts do rely
 * on them (FerretDB refuses those with a duplicate key, as MongoDB does).
 */
export const CATALOG_INDEXES: { readonly [C in keyof CatalogCollections]: readonly IndexDescription[] } = {
  repositories: [{ key: { name: 1 }, name: 'name_unique', unique: true }],
  leases: [],
  catalogLeases: [],
  // a repository's versions in order
  versions: [{ key: { repoId: 1, version: 1 }, name: 'repo_version' }],
  units: [
    // orphan cleanup asks "is this artifact referenced by any unit?"
    { key: { 'artifacts.sha256': 1 }, name: 'artifacts_sha256' },
  ],
  artifacts: (['md5', 'sha1', 'sha224', 'sha384', 'sha512'] as const).map((algorithm) => ({
    key: { [algorithm]: 1 },
    name: algorithm,
  })),
  remoteArtifacts: [{ key: { unitId: 1, remote: 1 }, name: 'unit_remote' }],
  content: [
    // associate / unassociate look rows up by (repository, unit)
    { key: { repoId: 1, unitId: 1 }, name: 'repo_unit' },
    // reading a version page by page in (type, unit) order
    { key: { repoId: 1, typeId: 1, unitId: 1 }, name: 'repo_type_unit' },
    // rolling back a version
    { key: { repoId: 1, versionAdded: 1 }, name: 'repo_added' },
    { key: { repoId: 1, versionRemoved: 1 }, name: 'repo_removed' },
    // orphan cleanup asks "is this unit in any repository?"
    { key: { unitId: 1 }, name: 'unit' },
  ],
  // orphan cleanup asks "is this artifact referenced by a kept revision?"
  unitRevisions: [{ key: { 'artifacts.sha256': 1 }, name: 'artifacts_sha256' }],
  seen: [{ key: { repoId: 1, version: 1 }, name: 'repo_version' }],
  history: [
    { key: { repoId: 1, startedAt: -1 }, name: 'repo_started' },
    { key: { repoId: 1, settingsHash: 1, status: 1, startedAt: -1 }, name: 'repo_settings_status_started' },
  ],
  // finding the newest complete publication of a publisher; listing a repository's
  publications: [{ key: { repoId: 1, publisherKey: 1, version: -1 }, name: 'repo_publisher_version' }],
  publicationEntries: [
    // a path keeps its first entry; look-up by path and listing in path order are ranges of it
    { key: { publicationId: 1, path: 1 }, name: 'publication_path_unique', unique: true },
    // orphan cleanup asks "is this artifact referenced by a publication?"
    { key: { sha256: 1 }, name: 'sha256' },
  ],
  // the name is `_id`
  distributions: [{ key: { basePath: 1 }, name: 'base_path_unique', unique: true }],
};
