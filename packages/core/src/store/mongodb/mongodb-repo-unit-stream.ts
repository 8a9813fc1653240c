import type { Filter } from 'mongodb';
import { mongodbDriver } from './mongodb-driver.js';
import type { Digests, RepoUnitKey } from '@tributary/plugin-api';
import type { RepoUnitArtifactView, RepoUnitView } from '../content-store.js';
import { unitRevisionId, type ArtifactDoc, type CatalogCollections, type ContentDoc, type RemoteArtifactDoc, type UnitArtifactEntry, type UnitRevisionDoc } from './mongodb-documents.js';
import { visibleIn } from './mongodb-repository-content.js';
import { batchFor, type MongoRequests } from './mongodb-requests.js';
import { artifactDigests, remoteArtifactId, sortedArtifacts, type MongoUnits } from './mongodb-units.js';
import { artifactsText, remotesColumn } from '../unit-columns.js';
import { STORED_FINGERPRINT_FIELDS, writeFingerprint } from '../unit-fingerprint.js';

type StreamedRow = Pick<ContentDoc, 'unitId' | 'typeId' | 'origin' | 'key' | 'unitRev'>;

/** What a content row shows of its unit: the unit's own state, or the revision the row pins. */
interface ShownState {
  readonly key: string;
  readonly metadata: string;
  readonly artifacts: UnitArtifactEntry[] | undefined;
  /** The revision's remote sources; undefined: the unit's current remote artifacts. */
  readonly remotes: Omit<RemoteArtifactDoc, '_id' | 'unitId'>[] | undefined;
}

/** Server-side cursor losses a stream recovers from by querying again after its last row. */
const CURSOR_LOST = new Set([43 /* CursorNotFound */, 237 /* CursorKilled */]);
/** Recoveries in a row (without a batch read in between) before the error is given up on. */
const MAX_RESUMES = 3;

/**
 * A repository version's units, streamed in (type, unit id) order by one query whose cursor is read
 * a batch at a time: memory holds one batch, and each batch is one round trip. The query walks the
 * (repository, type, unit) index, whose fields never change, so rows written meanwhile (the next
 * version) neither repeat nor drop out. A cursor the server dropped (idle for ten minutes behind a
 * slow consumer, or a lost connection) is replaced by a query that starts after the last row read.
 * Full views are joined in the client, batch by batch, with the units, artifacts and remote
 * artifacts (`$in`): MongoDB's `$lookup` is not used.
 */
export class MongoRepoUnitStream {
  constructor(
    private readonly collections: CatalogCollections,
    private readonly requests: MongoRequests,
    private readonly units: MongoUnits,
  ) {}

  async *keys(repoId: string, version: number, typeId: string | undefined, batchSize: number): AsyncIterable<RepoUnitKey> {
    for await (const rows of this.rowBatches(repoId, version, typeId, batchSize)) {
      for (const row of rows) {
        // a row whose unit was never stored has no key (SQLite's join leaves it out too)
        if (row.key !== null) yield { unitId: row.unitId, typeId: row.typeId, key: JSON.parse(row.key), origin: row.origin };
      }
    }
  }

  async *views(repoId: string, version: number, typeId: string | undefined, batchSize: number): AsyncIterable<RepoUnitView> {
    for await (const rows of this.rowBatches(repoId, version, typeId, batchSize)) yield* await this.join(rows);
  }

  /**
   * The fingerprints (unit-fingerprint.ts) of the version's units as `remote` sees them, a batch
   * of rows at a time: over the texts the SQLite store's row of each unit would hold, rebuilt from
   * the unit document and its remote artifacts of `remote` (looked up by `_id`, which is what a
   * MongoDB-wire server indexes best). No content row numbers: `markSeen` goes by unit id here.
   */
  async *fingerprints(repoId: string, version: number, remote: string, batchSize: number): AsyncIterable<Float64Array> {
    for await (const rows of this.rowBatches(repoId, version, undefined, batchSize)) {
      const shown = await this.shownStates(rows);
      // remote artifacts of the units shown as they are now, by `_id`
      const remoteIds = [...shown].flatMap(([unitId, state]) =>
        state.remotes !== undefined ? [] : (state.artifacts ?? []).map((entry) => remoteArtifactId(unitId, entry.relativePath, remote)),
      );
      const remotes = await this.requests.allIn(remoteIds, (ids) =>
        this.collections.remoteArtifacts.find({ _id: { $in: ids } }, { batchSize: batchFor(ids.length) }),
      );
      const remotesOf = new Map<string, Omit<RemoteArtifactDoc, '_id' | 'unitId'>[]>();
      for (const doc of remotes) {
        let list = remotesOf.get(doc.unitId);
        if (list === undefined) remotesOf.set(doc.unitId, (list = []));
        list.push(doc);
      }
      const fingerprints = new Float64Array(shown.size * STORED_FINGERPRINT_FIELDS);
      let i = 0;
      for (const [unitId, state] of shown) {
        const mine = state.remotes === undefined ? (remotesOf.get(unitId) ?? []) : state.remotes.filter((entry) => entry.remote === remote);
        const columns = [state.metadata, artifactsText(sortedArtifacts(state.artifacts)), mine.length > 0 ? remotesColumn(mine) : ''];
        writeFingerprint(fingerprints, i++ * STORED_FINGERPRINT_FIELDS, unitId, columns);
      }
      yield fingerprints;
    }
  }

  /**
   * What each row of a batch shows, by unit id: the unit document's state while the row pins the
   * unit's current revision, otherwise the revision kept of it (one `$in` look-up of the batch's
   * pinned revisions, only when there are any). A row whose unit was never stored shows nothing.
   */
  private async shownStates(rows: readonly StreamedRow[]): Promise<Map<string, ShownState>> {
    const unitDocs = await this.units.unitDocs(rows.map((row) => row.unitId));
    const units = new Map(unitDocs.map((doc) => [doc._id, doc]));
    const pinned = rows.flatMap((row) => {
      const unit = units.get(row.unitId);
      return unit !== undefined && (row.unitRev ?? 0) !== (unit.rev ?? 0) ? [unitRevisionId(row.unitId, row.unitRev ?? 0)] : [];
    });
    const revisions =
      pinned.length === 0
        ? new Map<string, UnitRevisionDoc>()
        : new Map(
            (
              await this.requests.allIn(pinned, (ids) =>
                this.collections.unitRevisions.find({ _id: { $in: ids } }, { batchSize: batchFor(ids.length) }),
              )
            ).map((doc) => [doc.unitId, doc]),
          );
    const shown = new Map<string, ShownState>();
    for (const row of rows) {
      const unit = units.get(row.unitId);
      if (unit === undefined) continue;
      const revision = (row.unitRev ?? 0) !== (unit.rev ?? 0) ? revisions.get(row.unitId) : undefined;
      shown.set(
        row.unitId,
        revision === undefined
          ? { key: unit.key, metadata: unit.metadata, artifacts: unit.artifacts, remotes: undefined }
          : { key: unit.key, metadata: revision.metadata, artifacts: revision.artifacts, remotes: revision.remotes },
      );
    }
    return shown;
  }

  /** The rows of the version, a batch at a time, resuming after the last row when the cursor is lost. */
  private async *rowBatches(repoId: string, version: number, typeId: string | undefined, batchSize: number): AsyncIterable<StreamedRow[]> {
    let after: StreamedRow | undefined;
    let resumes = 0;
    for (;;) {
      const conditions: Filter<ContentDoc>[] = [{ repoId, ...(typeId === undefined ? {} : { typeId }) }, visibleIn(version)];
      if (after !== undefined) {
        conditions.push({ $or: [{ typeId: { $gt: after.typeId } }, { typeId: after.typeId, unitId: { $gt: after.unitId } }] });
      }
      const cursor = this.collections.content.find(
        { $and: conditions },
        {
          projection: { _id: 0, unitId: 1, typeId: 1, origin: 1, key: 1, unitRev: 1 },
          sort: { typeId: 1, unitId: 1 },
          hint: 'repo_type_unit',
          batchSize,
        },
      );
      try {
        for await (const rows of this.requests.batches<StreamedRow>(cursor)) {
          resumes = 0;
          after = rows[rows.length - 1] ?? after;
          yield rows;
        }
        return;
      } catch (error) {
        if (!cursorLost(error) || ++resumes > MAX_RESUMES) throw error;
      }
    }
  }

  /** Full views of a batch of rows: three lookups, whatever the batch size. */
  private async join(rows: readonly StreamedRow[]): Promise<RepoUnitView[]> {
    const shown = await this.shownStates(rows);
    const storedShas = [...shown.values()].flatMap((state) => (state.artifacts ?? []).flatMap((entry) => (entry.sha256 === null ? [] : [entry.sha256])));
    const artifacts = new Map((await this.units.artifactDocs('_id', storedShas)).map((doc) => [doc._id, doc]));
    const current = [...shown].flatMap(([unitId, state]) => (state.remotes === undefined ? [unitId] : []));
    const remotes = await this.requests.allIn(current, (ids) =>
      this.collections.remoteArtifacts.find({ unitId: { $in: ids } }, { sort: { unitId: 1, remote: 1 }, batchSize: batchFor(ids.length * 2) }),
    );
    const remotesByPath = new Map<string, Omit<RemoteArtifactDoc, '_id' | 'unitId'>[]>();
    const addRemote = (unitId: string, remote: Omit<RemoteArtifactDoc, '_id' | 'unitId'>) => {
      const id = `${unitId}\u0000${remote.relativePath}`;
      let list = remotesByPath.get(id);
      if (list === undefined) remotesByPath.set(id, (list = []));
      list.push(remote);
    };
    for (const remote of remotes) addRemote(remote.unitId, remote);
    for (const [unitId, state] of shown) for (const remote of state.remotes ?? []) addRemote(unitId, remote);
    return rows.flatMap((row) => {
      const state = shown.get(row.unitId);
      if (state === undefined) return [];
      const views = sortedArtifacts(state.artifacts).map((entry) =>
        artifactView(
          entry,
          entry.sha256 === null ? undefined : artifacts.get(entry.sha256),
          remotesByPath.get(`${row.unitId}\u0000${entry.relativePath}`) ?? [],
        ),
      );
      return [{ unitId: row.unitId, typeId: row.typeId, key: JSON.parse(state.key), metadata: JSON.parse(state.metadata), origin: row.origin, artifacts: views }];
    });
  }
}

function cursorLost(error: unknown): boolean {
  const { MongoNetworkError, MongoServerError } = mongodbDriver();
  return error instanceof MongoNetworkError || (error instanceof MongoServerError && typeof error.code === 'number' && CURSOR_LOST.has(error.code));
}

/** The same view as the SQLite store builds: stored bytes' digests win over what an upstream announced. */
function artifactView(entry: UnitArtifactEntry, artifact: ArtifactDoc | undefined, remotes: readonly Omit<RemoteArtifactDoc, '_id' | 'unitId'>[]): RepoUnitArtifactView {
  const digests: Digests = {};
  const urls = new Set<string>();
  let remoteSize: number | null = null;
  for (const remote of remotes) {
    for (const url of remote.urls) urls.add(url);
    remoteSize ??= remote.size;
    for (const [algorithm, value] of Object.entries(remote.digests ?? {}) as [keyof Digests, string][]) digests[algorithm] ??= value;
  }
  if (artifact !== undefined) Object.assign(digests, artifactDigests(artifact));
  if (entry.sha256 !== null) digests.sha256 = entry.sha256;
  return {
    relativePath: entry.relativePath,
    sha256: entry.sha256 ?? digests.sha256 ?? null,
    size: artifact?.size ?? remoteSize,
    stored: entry.sha256 !== null,
    remoteUrls: [...urls],
    digests,
  };
}
