import { ErrorCodes, TributaryError, type CountsByType } from '@tributary/plugin-api';
import type { AnyBulkWriteOperation, Filter } from 'mongodb';
import type { CopyCounts, UnitRef, VersionChange, VersionChangeCounts, VersionKind, VersionRecord, VersionRecordInput } from '../content-store.js';
import { unknownUnitsError } from '../unknown-units-error.js';
import type { CatalogCollections, ContentDoc, VersionDoc } from './mongodb-documents.js';
import type { MongoRepositories } from './mongodb-repositories.js';
import { newRow, visibleIn } from './mongodb-repository-content.js';
import { batchFor, chunks, type MongoRequests } from './mongodb-requests.js';

type SideRow = Pick<ContentDoc, '_id' | 'unitId' | 'typeId' | 'key'>;

/**
 * The history of a repository's versions, with the SQLite store's rules (see the port): records,
 * deletion marks, diffs and the bulk writes that build a version out of committed ones. Without
 * `$lookup` (which MongoDB-wire servers like FerretDB lack): what SQLite asks with one correlated
 * query is a cursor over candidate content rows, read a batch at a time, each batch answered by one
 * `$in` look-up; memory stays bounded by the batch.
 */
export class MongoVersions {
  constructor(
    private readonly collections: CatalogCollections,
    private readonly requests: MongoRequests,
    private readonly repositories: MongoRepositories,
  ) {}

  async record(input: VersionRecordInput): Promise<void> {
    await this.repositories.doc(input.repoId);
    const fields = {
      repoId: input.repoId,
      version: input.version,
      createdAt: input.createdAt,
      kind: input.kind,
      syncId: input.syncId,
      note: input.note,
      counts: JSON.stringify(input.counts),
      base: input.base,
      added: JSON.stringify(input.added),
      removed: JSON.stringify(input.removed),
    };
    const _id = versionId(input.repoId, input.version);
    // a version's deletion mark is not a field written here, so it is kept
    await this.requests.bulk(this.collections.versions, [{ insertOne: { document: { _id, ...fields } } }], () => [
      { updateOne: { filter: { _id }, update: { $set: fields } } },
    ]);
  }

  async list(repoId: string): Promise<VersionRecord[]> {
    const docs = await this.requests.all(this.collections.versions.find({ repoId }, { sort: { version: 1 } }));
    return docs.map(toRecord);
  }

  async get(repoId: string, version: number): Promise<VersionRecord | undefined> {
    const doc = await this.requests.one(() => this.collections.versions.findOne({ _id: versionId(repoId, version) }));
    return doc === null ? undefined : toRecord(doc);
  }

  /**
   * Marks `version` deleted, drops its publications and deletes the content rows no remaining
   * version shows: those whose whole range lies in the run of deleted versions around it (one
   * `deleteMany` over the version index).
   */
  async delete(repoId: string, version: number): Promise<{ rows: number }> {
    const repository = await this.repositories.doc(repoId);
    const records = await this.requests.all(this.collections.versions.find({ repoId }, { projection: { version: 1, deletedAt: 1 } }));
    const deleted = new Set(records.filter((doc) => typeof doc.deletedAt === 'string').map((doc) => doc.version));
    if (!Number.isSafeInteger(version) || version < 0 || version > repository.latestVersion || deleted.has(version)) {
      throw new TributaryError(
        ErrorCodes.VERSION_NOT_FOUND,
        `repository '${repository.name}' has no version ${version}${deleted.has(version) ? ' (it was deleted)' : ` (its latest is ${repository.latestVersion})`}`,
        { details: { repository: repository.name, version } },
      );
    }
    if (version === repository.latestVersion) {
      throw new TributaryError(ErrorCodes.VERSION_IN_USE, `version ${version} is the latest of repository '${repository.name}' and cannot be deleted`, {
        details: { repository: repository.name, version, reason: 'latest' },
      });
    }
    const pinned = await this.requests.all(this.collections.distributions.find({ repoId, version }, { projection: { _id: 1 }, sort: { _id: 1 } }));
    if (pinned.length > 0) {
      const names = pinned.map((d) => d._id);
      throw new TributaryError(
        ErrorCodes.VERSION_IN_USE,
        `version ${version} of repository '${repository.name}' is served by distribution${names.length > 1 ? 's' : ''} ${names.map((n) => `'${n}'`).join(', ')}; point ${names.length > 1 ? 'them' : 'it'} at another version first`,
        { details: { repository: repository.name, version, reason: 'distribution', distributions: names } },
      );
    }
    const _id = versionId(repoId, version);
    const deletedAt = new Date().toISOString();
    const stub: VersionDoc = { _id, repoId, version, createdAt: new Date(0).toISOString(), kind: 'unknown', syncId: null, note: null, counts: '{}', base: null, added: '{}', removed: '{}', deletedAt };
    await this.requests.bulk(this.collections.versions, [{ insertOne: { document: stub } }], () => [{ updateOne: { filter: { _id }, update: { $set: { deletedAt } } } }]);
    const publications = await this.requests.all(this.collections.publications.find({ repoId, version }, { projection: { _id: 1 } }));
    if (publications.length > 0) {
      const ids = publications.map((p) => p._id);
      await this.requests.one(() => this.collections.publicationEntries.deleteMany({ publicationId: { $in: ids } }));
      await this.requests.one(() => this.collections.publications.deleteMany({ _id: { $in: ids } }));
    }
    deleted.add(version);
    let low = version;
    while (deleted.has(low - 1)) low--;
    let high = version;
    while (deleted.has(high + 1)) high++;
    const result = await this.requests.one(() =>
      this.collections.content.deleteMany({ repoId, versionAdded: { $gte: low, $lte: version }, versionRemoved: { $gt: version, $lte: high + 1 } }),
    );
    return { rows: result.deletedCount };
  }

  /** The added changes, then the removed ones (see {@link side}). */
  async *diff(repoId: string, from: number, to: number, batchSize: number): AsyncIterable<VersionChange> {
    for (const change of ['added', 'removed'] as const) {
      const [a, b] = change === 'added' ? [to, from] : [from, to];
      for await (const rows of this.side(repoId, a, b, batchSize)) {
        const keys = await this.keysOf(rows);
        for (const row of rows) {
          const key = keys.get(row.unitId);
          if (key !== undefined) yield { change, unitId: row.unitId, typeId: row.typeId, key: JSON.parse(key) };
        }
      }
    }
  }

  async countChanges(repoId: string, from: number, to: number): Promise<VersionChangeCounts> {
    const count = async (a: number, b: number): Promise<CountsByType> => {
      const counts: CountsByType = {};
      for await (const rows of this.side(repoId, a, b, this.requests.chunkSize)) for (const row of rows) counts[row.typeId] = (counts[row.typeId] ?? 0) + 1;
      return counts;
    };
    return { added: await count(to, from), removed: await count(from, to) };
  }

  /**
   * The content rows visible in version `a` whose unit no row of version `b` shows, a batch at a
   * time. Such a row starts or ends between the two versions, so the candidates come from one of
   * the version indexes: a row visible in `a` but not in `b > a` ends in (a, b]; one visible in
   * `a` but not in `b < a` starts in (b, a]. Each batch is checked with one look-up of its units' rows in `b`.
   */
  private async *side(repoId: string, a: number, b: number, batchSize: number): AsyncIterable<SideRow[]> {
    if (a === b) return;
    const candidates: Filter<ContentDoc> =
      a > b
        ? { repoId, versionAdded: { $gt: b, $lte: a }, $or: [{ versionRemoved: null }, { versionRemoved: { $gt: a } }] }
        : { repoId, versionRemoved: { $gt: a, $lte: b }, versionAdded: { $lte: a } };
    const cursor = this.collections.content.find(candidates, { projection: { _id: 1, unitId: 1, typeId: 1, key: 1 }, batchSize });
    for await (const rows of this.requests.batches<SideRow>(cursor)) {
      const inB = await this.visibleUnits(repoId, b, rows.map((row) => row.unitId));
      const only = rows.filter((row) => !inB.has(row.unitId));
      if (only.length > 0) yield only;
    }
  }

  /** Of `unitIds`, those a row of `version` shows, with that row. */
  private async visibleUnits(repoId: string, version: number, unitIds: readonly string[]): Promise<Map<string, ContentDoc>> {
    const rows = await this.requests.allIn(unitIds, (ids) =>
      this.collections.content.find({ $and: [{ repoId, unitId: { $in: ids } }, visibleIn(version)] }, { batchSize: batchFor(ids.length) }),
    );
    return new Map(rows.map((row) => [row.unitId, row]));
  }

  /** The keys (JSON text) of the rows' units: from the rows, else from the units. */
  private async keysOf(rows: readonly SideRow[]): Promise<Map<string, string>> {
    const keys = new Map<string, string>();
    const missing: string[] = [];
    for (const row of rows) {
      if (row.key !== null) keys.set(row.unitId, row.key);
      else missing.push(row.unitId);
    }
    if (missing.length > 0) {
      const units = await this.requests.allIn(missing, (ids) => this.collections.units.find({ _id: { $in: ids } }, { projection: { key: 1 }, batchSize: batchFor(ids.length) }));
      for (const unit of units) keys.set(unit._id, unit.key);
    }
    return keys;
  }

  /**
   * Makes the version being written hold what committed `from` holds (see the port): first the
   * present rows (a batch at a time, each checked against `from` with one look-up) that `from`
   * does not show in the same revision and origin go or end here; then `from`'s rows whose unit has
   * no present row left start here.
   */
  async restore(repoId: string, version: number, from: number): Promise<VersionChangeCounts> {
    const latest = (await this.repositories.doc(repoId)).latestVersion;
    if (version !== latest + 1) {
      throw new TributaryError(ErrorCodes.STORE, `cannot change version ${version} of repository ${repoId}: only version ${latest + 1} (after the committed ${latest}) can be written`, {
        details: { repoId, version, latestVersion: latest },
      });
    }
    if (!Number.isSafeInteger(from) || from < 0 || from > latest) {
      throw new TributaryError(ErrorCodes.VERSION_NOT_FOUND, `repository ${repoId} has no committed version ${from}`, { details: { repoId, version: from } });
    }
    const present = this.collections.content.find(
      { repoId, versionRemoved: null, _id: ofRepository(repoId) },
      { projection: { _id: 1, unitId: 1, unitRev: 1, origin: 1, versionAdded: 1 }, hint: { _id: 1 }, batchSize: this.requests.chunkSize },
    );
    for await (const rows of this.requests.batches(present)) {
      const inFrom = await this.visibleUnits(repoId, from, rows.map((row) => row.unitId));
      const drop: string[] = [];
      const end: string[] = [];
      for (const row of rows) {
        const shown = inFrom.get(row.unitId);
        if (shown !== undefined && (shown.unitRev ?? 0) === (row.unitRev ?? 0) && shown.origin === row.origin) continue;
        (row.versionAdded === version ? drop : end).push(row._id);
      }
      await this.requests.bulk(this.collections.content, [
        ...[...chunks(drop, this.requests.chunkSize)].map((ids) => ({ deleteMany: { filter: { _id: { $in: ids } } } })),
        ...[...chunks(end, this.requests.chunkSize)].map((ids) => ({ updateMany: { filter: { _id: { $in: ids } }, update: { $set: { versionRemoved: version } } } })),
      ]);
    }
    const shown = this.collections.content.find({ $and: [{ repoId, _id: ofRepository(repoId) }, visibleIn(from)] }, { hint: { _id: 1 }, batchSize: this.requests.chunkSize });
    for await (const rows of this.requests.batches(shown)) {
      const stillPresent = await this.presentRows(repoId, rows.map((row) => row.unitId));
      const inserts = rows.filter((row) => !stillPresent.has(row.unitId)).map((row) => newRow(repoId, row.unitId, row.typeId, row.key, version, row.origin, row.unitRev ?? 0));
      await this.insertRows(inserts);
    }
    return this.countChanges(repoId, latest, version);
  }

  /** Adds `units` to the version being written as the source version shows them (see the port), a chunk at a time. */
  async copy(repoId: string, version: number, source: { repoId: string; version: number }, units: readonly UnitRef[]): Promise<CopyCounts> {
    const latest = (await this.repositories.doc(repoId)).latestVersion;
    if (version !== latest + 1) {
      throw new TributaryError(ErrorCodes.STORE, `cannot change version ${version} of repository ${repoId}: only version ${latest + 1} (after the committed ${latest}) can be written`, {
        details: { repoId, version, latestVersion: latest },
      });
    }
    await this.repositories.doc(source.repoId);
    const added: CountsByType = {};
    const replaced: CountsByType = {};
    for (const chunk of chunks([...new Set(units.map((unit) => unit.unitId))], this.requests.chunkSize)) {
      const stored = new Set((await this.requests.all(this.collections.units.find({ _id: { $in: chunk } }, { projection: { _id: 1 }, batchSize: batchFor(chunk.length) }))).map((u) => u._id));
      if (stored.size < chunk.length) throw unknownUnitsError(chunk.filter((unitId) => !stored.has(unitId)));
      const shown = await this.visibleUnits(source.repoId, source.version, chunk);
      const present = await this.presentRows(repoId, [...shown.keys()]);
      const operations: AnyBulkWriteOperation<ContentDoc>[] = [];
      const inserts: ContentDoc[] = [];
      for (const [unitId, row] of shown) {
        const rev = row.unitRev ?? 0;
        const current = present.get(unitId);
        if (current !== undefined && (current.unitRev ?? 0) === rev) continue;
        if (current === undefined) added[row.typeId] = (added[row.typeId] ?? 0) + 1;
        else {
          replaced[row.typeId] = (replaced[row.typeId] ?? 0) + 1;
          // a row this version added is repinned in place; an older one ends here
          if (current.versionAdded === version) {
            operations.push({ updateOne: { filter: { _id: current._id }, update: { $set: { unitRev: rev, origin: 'user' } } } });
            continue;
          }
          operations.push({ updateOne: { filter: { _id: current._id }, update: { $set: { versionRemoved: version } } } });
        }
        inserts.push(newRow(repoId, unitId, row.typeId, row.key, version, 'user', rev));
      }
      await this.requests.bulk(this.collections.content, operations);
      await this.insertRows(inserts);
    }
    return { added, replaced };
  }

  /** Of `unitIds`, those present in the repository (the version being written), with their row. */
  private async presentRows(repoId: string, unitIds: readonly string[]): Promise<Map<string, ContentDoc>> {
    const rows = await this.requests.allIn(unitIds, (ids) =>
      this.collections.content.find({ repoId, unitId: { $in: ids }, versionRemoved: null }, { batchSize: batchFor(ids.length) }),
    );
    return new Map(rows.map((row) => [row.unitId, row]));
  }

  /** Inserts new content rows; one an earlier attempt of this request wrote is written over. */
  private async insertRows(rows: readonly ContentDoc[]): Promise<void> {
    await this.requests.bulk(
      this.collections.content,
      rows.map((document) => ({ insertOne: { document } })),
      ({ _id, ...fields }) => [{ updateOne: { filter: { _id }, update: { $set: fields } } }],
    );
  }
}

/**
 * The `_id` range of a repository's content rows (`${repoId}/${unitId}/${version}`): walked in `_id`
 * order, which the writes never change, only that repository's rows are read.
 */
function ofRepository(repoId: string): { $gt: string; $lt: string } {
  return { $gt: `${repoId}/`, $lt: `${repoId}0` };
}

function versionId(repoId: string, version: number): string {
  return `${repoId}/${version}`;
}

function toRecord(doc: VersionDoc): VersionRecord {
  return {
    repoId: doc.repoId,
    version: doc.version,
    createdAt: doc.createdAt,
    kind: doc.kind as VersionKind,
    syncId: doc.syncId,
    note: doc.note,
    counts: JSON.parse(doc.counts),
    base: doc.base,
    added: JSON.parse(doc.added),
    removed: JSON.parse(doc.removed),
    deletedAt: doc.deletedAt ?? null,
  };
}
