import type { UnitOrigin } from '@tributary/plugin-api';
import type { ContentStore, ProvenanceStore } from '../../content-store.js';
import { decodeFoundUnits, encodeUnits } from '../../unit-columns.js';
import { decodeEntries, encodeEntries, type EntryColumn } from '../catalog/sqlite-publications.js';
import type { SqliteContentStore } from '../sqlite-content-store.js';
import { associatePairs, associateRows, packSourcesOf, unpackSources } from './sqlite-wire-encodings.js';

/**
 * The one table of the store methods the catalog thread serves, and how each crosses to it. The
 * caller's side ({@link SqliteWorkerStore}) builds its forwarding methods from it, and the thread
 * (sqlite-store-worker.ts) dispatches by it; a request names the method by its key here.
 *
 * - {@link plain}: the arguments cross as given (structured clone), the catalog's method of that
 *   name runs, its value crosses back as returned.
 * - {@link encoded}: `send` turns the arguments into what crosses, `serve` runs the call on the
 *   thread's catalog, `receive` (if any) turns what came back into the method's value.
 * - {@link paged}: a stream; the caller's pager asks for page after page, each the catalog's
 *   `page` method (the proxy writes the stream by hand, with its page sizes).
 * - {@link byHand}: crosses as given, but the proxy's method is written by hand (it does more).
 *
 * A store method missing here that the proxy does not write by hand fails the type check.
 */
export const WORKER_METHODS = {
  init: plain(),
  close: byHand(),

  createRepository: plain(),
  getRepository: plain(),
  getRepositoryById: plain(),
  listRepositories: plain(),
  updateRepository: plain(),
  deleteRepository: plain(),
  beginVersion: plain(),
  commitVersion: plain(),
  rollbackVersion: plain(),
  versionChanged: plain(),

  recordVersion: plain(),
  listVersionRecords: plain(),
  getVersionRecord: plain(),
  deleteVersion: plain(),
  diffVersions: paged('diffPage'),
  countVersionChanges: plain(),
  restoreVersion: plain(),
  copyContent: plain(),

  // units cross as a flat list of their rows' columns, found units come back as JSON text:
  // measured on a batch of 500 file units, structured-clone decoding costs 6.1 µs a unit and
  // JSON.parse 2.6 µs, while a flat list of strings costs next to nothing
  upsertUnits: encoded({
    serve: (catalog, columns: string[]) => catalog.upsertEncodedUnits(columns),
    send: (units) => [encodeUnits(units)],
  }),
  catalogUnits: paged('catalogUnitsPage'),
  findUnits: encoded({
    serve: (catalog, unitIds: readonly string[]) => catalog.findUnitsJson(unitIds),
    send: (unitIds) => [unitIds],
    receive: decodeFoundUnits,
  }),

  upsertArtifacts: plain(),
  findArtifacts: plain(),
  upsertRemoteArtifacts: plain(),
  deleteOrphans: plain(),

  // (unit id, type) pairs and packed sources; the key is for stores that look units up by it
  associate: encoded({
    serve: (catalog, repoId: string, version: number, pairs: string[], origin: UnitOrigin, sources: Float64Array | undefined) =>
      catalog.associate(repoId, version, associateRows(pairs, sources), origin),
    send: (repoId, version, units, origin) => [repoId, version, associatePairs(units), origin, packSourcesOf(units)],
  }),
  unassociate: plain(),
  unassociateUnseen: plain(),
  // the thread needs only the content rows (and sources)
  markSeen: encoded({
    serve: (catalog, repoId: string, version: number, contentRows: number[], sources: Float64Array | undefined) =>
      catalog.markSeenRows(repoId, version, contentRows, sources === undefined ? undefined : unpackSources(sources)),
    send: (repoId, version, seen) => [repoId, version, seen.map((unit) => unit.contentRow), packSourcesOf(seen)],
  }),
  repoUnitKeys: paged('unitKeysPage'),
  // a page of units crosses as its JSON text (the catalog's stored key and metadata spliced in)
  repoUnits: paged('unitsPageJson'),
  repoUnitFingerprints: paged('fingerprintsPage'),
  repoUnitSources: paged('sourcesPage'),
  countRepoUnits: plain(),

  createPublication: plain(),
  // entries cross as a flat list of their rows' columns, both ways: a publication can have a
  // million of them, and flat lists of strings and numbers cost next to nothing to clone
  addPublicationEntries: encoded({
    serve: (catalog, publicationId: string, columns: EntryColumn[]) => catalog.addEncodedPublicationEntries(publicationId, columns),
    send: (publicationId, entries) => [publicationId, encodeEntries(entries)],
  }),
  completePublication: plain(),
  deletePublication: plain(),
  findPublication: plain(),
  listPublications: plain(),
  getPublicationEntry: plain(),
  listPublicationEntries: encoded({
    serve: (catalog, publicationId: string, options: { prefix?: string; after?: string; limit: number }) =>
      catalog.publicationEntryColumns(publicationId, options),
    send: (publicationId, options) => [publicationId, options],
    receive: decodeEntries,
  }),

  createDistribution: plain(),
  getDistribution: plain(),
  listDistributions: plain(),
  updateDistribution: plain(),
  deleteDistribution: plain(),

  acquireLease: plain(),
  renewLease: plain(),
  releaseLease: plain(),
  getLease: plain(),
  acquireCatalogLease: plain(),
  renewCatalogLease: plain(),
  releaseCatalogLease: plain(),
  getCatalogLease: plain(),

  startSyncRecord: plain(),
  finishSyncRecord: plain(),
  listSyncRecords: plain(),
  lastFingerprint: plain(),
} satisfies { readonly [K in StoreMethod]?: Crossing<K> };

/** A request's method: a key of {@link WORKER_METHODS}. */
export type WorkerMethod = keyof typeof WORKER_METHODS;

/** The methods of the store port and its capabilities, by name. */
export type StoreMethods = Omit<ContentStore, 'stats' | 'pipelineBatchSize' | 'provenance'> & ProvenanceStore;
export type StoreMethod = keyof StoreMethods;

/** The catalog's page reads the streams are made of (SqliteContentStore's, e.g. `unitKeysPage`). */
export type PageMethod = 'unitKeysPage' | 'unitsPage' | 'unitsPageJson' | 'fingerprintsPage' | 'sourcesPage' | 'diffPage' | 'catalogUnitsPage';
export type PageReaders = Pick<SqliteContentStore, PageMethod>;

/** The methods the proxy gets from the table: those that cross {@link plain} or {@link encoded}. */
export type ForwardedMethods = {
  [K in WorkerMethod as (typeof WORKER_METHODS)[K]['kind'] extends 'plain' | 'encoded' ? K : never]: StoreMethods[K];
};

/** The streams the proxy writes by hand, page by page, and the page each reads. */
export type PagedMethod = { [K in WorkerMethod]: (typeof WORKER_METHODS)[K] extends Paged<PageMethod> ? K : never }[WorkerMethod];
export type PageOf<K extends PagedMethod> = (typeof WORKER_METHODS)[K] extends Paged<infer P> ? P : never;

export interface Plain {
  readonly kind: 'plain';
}

export interface ByHand {
  readonly kind: 'byHand';
}

export interface Paged<P extends PageMethod> {
  readonly kind: 'paged';
  readonly page: P;
}

export interface Encoded<Args extends unknown[], Value, Wire extends unknown[], Reply> {
  readonly kind: 'encoded';
  /** On the caller's side: the arguments as they cross. */
  readonly send: (...args: Args) => [...Wire];
  /** On the catalog thread: the call, on the catalog. */
  readonly serve: (catalog: SqliteContentStore, ...wire: Wire) => Reply | Promise<Reply>;
  /** On the caller's side: the method's value from what came back; absent, it is what came back. */
  readonly receive?: (reply: Reply) => Value;
}

/** How store method `K` crosses (checked against its signature in the port). */
type Crossing<K extends StoreMethod> =
  | Plain
  | ByHand
  | Paged<PageMethod>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- what crosses is each entry's own business
  | Encoded<Parameters<StoreMethods[K]>, Awaited<ReturnType<StoreMethods[K]>>, any[], any>;

function plain(): Plain {
  return { kind: 'plain' };
}

function byHand(): ByHand {
  return { kind: 'byHand' };
}

function paged<P extends PageMethod>(page: P): Paged<P> {
  return { kind: 'paged', page };
}

function encoded<Args extends unknown[], Wire extends unknown[], Value>(entry: {
  readonly serve: (catalog: SqliteContentStore, ...wire: Wire) => Value | Promise<Value>;
  readonly send: (...args: Args) => [...Wire];
}): Encoded<Args, Value, Wire, Value>;
function encoded<Args extends unknown[], Wire extends unknown[], Reply, Value>(
  entry: Omit<Encoded<Args, Value, Wire, Reply>, 'kind' | 'receive'> & { readonly receive: (reply: Reply) => Value },
): Encoded<Args, Value, Wire, Reply>;
function encoded(entry: object): object {
  return { kind: 'encoded', ...entry };
}
