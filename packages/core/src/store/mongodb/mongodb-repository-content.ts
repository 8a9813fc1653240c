import type { CountsByType, UnitOrigin } from '@tributary/plugin-api';
import type { AnyBulkWriteOperation, Filter } from 'mongodb';
import type { AssociateRow } from '../content-store.js';
import { unknownUnitsError } from '../unknown-units-error.js';
import type { CatalogCollections, ContentDoc, SeenDoc } from './mongodb-documents.js';
import { batchFor, chunks, type MongoRequests } from './mongodb-requests.js';

/**
 * Versioned repository content, with the same rules as the SQLite store: the version being written
 * is always the newest, so adding inserts a row with `versionAdded = V`, removing sets
 * `versionRemoved = V` (or deletes a row V itself added), and neither changes what an older
 * version sees. Only the lease holder writes a repository's rows, so reading them and then writing
 * needs no transaction; every write is idempotent, so a repeated request is harmless.
 */
export class MongoRepositoryContent {
  constructor(
    private readonly collections: CatalogCollections,
    private readonly requests: MongoRequests,
  ) {}

  /**
   * As the SQLite store: a row pins the unit revision it shows (`unitRev`), so a present unit whose
   * row pins an older revision than the unit's current one is split: the row ends here and a new
   * one from here pins the current revision (same origin, not counted as added); a row this very
   * version added is repinned in place. The units' current revisions (and keys, where not given)
   * come from one look-up per batch.
   */
  async associate(repoId: string, version: number, units: readonly AssociateRow[], origin: UnitOrigin): Promise<CountsByType> {
    const wanted = new Map<string, AssociateRow>();
    for (const unit of units) if (!wanted.has(unit.unitId)) wanted.set(unit.unitId, unit);

    const active = new Map<string, ContentDoc>();
    const removedHere = new Map<string, ContentDoc>();
    const rows = await this.requests.allIn(wanted.keys(), (ids) =>
      this.collections.content.find(
        { repoId, unitId: { $in: ids }, $or: [{ versionRemoved: null }, { versionRemoved: version }] },
        { batchSize: batchFor(ids.length * 2) },
      ),
    );
    for (const row of rows) (row.versionRemoved === null ? active : removedHere).set(row.unitId, row);
    const stored = await this.unitsOf(wanted);

    const seen: string[] = [];
    const promoted: string[] = [];
    const restored: string[] = [];
    const endedHere: string[] = [];
    const repinned: { _id: string; unitRev: number }[] = [];
    const inserts: { unitId: string; typeId: string; key: string | null; origin: UnitOrigin }[] = [];
    const added: CountsByType = {};
    const keeps = (row: ContentDoc) => row.origin === origin || row.origin === 'user';
    const revOf = (unitId: string) => stored.get(unitId)?.rev ?? 0;
    const pinsCurrent = (row: ContentDoc) => (row.unitRev ?? 0) === revOf(row.unitId);
    for (const [unitId, { typeId, key }] of wanted) {
      const current = active.get(unitId);
      const removed = removedHere.get(unitId);
      if (current !== undefined) {
        if (current.versionAdded === version) {
          // a row this version added needs no mark: unassociateUnseen only looks at older rows
          if (!keeps(current)) promoted.push(current._id);
          if (!pinsCurrent(current)) repinned.push({ _id: current._id, unitRev: revOf(unitId) });
        } else if (keeps(current) && pinsCurrent(current)) seen.push(unitId);
        else {
          // Becoming user-added, or showing the unit's new revision, is a change of this version:
          // end the old row here and start a new one, so readers of older versions keep the origin
          // and the revision they had and a rollback restores them.
          endedHere.push(current._id);
          inserts.push({ unitId, typeId: current.typeId, key: current.key, origin: keeps(current) ? current.origin : origin });
        }
        continue;
      }
      if (removed !== undefined && keeps(removed) && pinsCurrent(removed)) {
        restored.push(removed._id);
        seen.push(unitId);
      } else if (removed !== undefined && keeps(removed)) inserts.push({ unitId, typeId: removed.typeId, key: removed.key, origin: removed.origin });
      else inserts.push({ unitId, typeId, key: key === undefined ? null : JSON.stringify(key), origin });
      const countedType = removed?.typeId ?? typeId;
      added[countedType] = (added[countedType] ?? 0) + 1;
    }

    const missing = inserts.flatMap((row) => (row.key === null && !stored.has(row.unitId) ? [row.unitId] : []));
    if (missing.length > 0) throw unknownUnitsError(missing);
    await this.requests.bulk(
      this.collections.content,
      [
        ...inserts.map((row) => ({
          insertOne: {
            document: newRow(repoId, row.unitId, row.typeId, row.key ?? stored.get(row.unitId)?.key ?? null, version, row.origin, revOf(row.unitId)),
          },
        })),
        ...this.updateByIds(promoted, { origin: 'user' }),
        ...this.updateByIds(restored, { versionRemoved: null }),
        ...this.updateByIds(endedHere, { versionRemoved: version }),
        ...repinned.map(({ _id, unitRev }) => ({ updateOne: { filter: { _id }, update: { $set: { unitRev } } } })),
      ],
      // written by an earlier attempt of this very request
      ({ _id, ...fields }) => [{ updateOne: { filter: { _id }, update: { $set: fields } } }],
    );
    await this.requests.bulk(
      this.collections.seen,
      seen.map((unitId) => ({ insertOne: { document: seenMark(repoId, unitId, version) } })),
      () => [], // marked twice: once is enough
    );
    return added;
  }

  /** Marks units already present seen by `version`, as `associate` does (insert-only marks). */
  async markSeen(repoId: string, version: number, unitIds: readonly string[]): Promise<void> {
    await this.requests.bulk(
      this.collections.seen,
      unitIds.map((unitId) => ({ insertOne: { document: seenMark(repoId, unitId, version) } })),
      () => [], // marked twice: once is enough
    );
  }

  async unassociate(repoId: string, version: number, unitIds: readonly string[]): Promise<CountsByType> {
    const rows = await this.requests.allIn(unitIds, (ids) =>
      this.collections.content.find({ repoId, unitId: { $in: ids }, versionRemoved: null }, { batchSize: batchFor(ids.length) }),
    );
    const removed: CountsByType = {};
    const addedHere: string[] = [];
    const older: string[] = [];
    for (const row of rows) {
      (row.versionAdded >= version ? addedHere : older).push(row._id);
      removed[row.typeId] = (removed[row.typeId] ?? 0) + 1;
    }
    await this.requests.bulk(this.collections.content, [
      ...[...chunks(addedHere, this.requests.chunkSize)].map((ids) => ({ deleteMany: { filter: { _id: { $in: ids } } } })),
      ...this.updateByIds(older, { versionRemoved: version }),
    ]);
    return removed;
  }

  /**
   * Reads the rows the previous version had with one cursor (in `_id` order, which the writes
   * below never change), a batch at a time; looks up which of the batch this version marked as
   * seen, and ends the others here. Memory stays bounded by the batch.
   */
  async unassociateUnseen(repoId: string, version: number, includeUserAdded: boolean): Promise<CountsByType> {
    const removed: CountsByType = {};
    const candidates = this.collections.content.find(
      { repoId, versionRemoved: null, versionAdded: { $lt: version }, ...(includeUserAdded ? {} : { origin: { $ne: 'user' as const } }) },
      { projection: { _id: 1, unitId: 1, typeId: 1 }, hint: { _id: 1 }, batchSize: this.requests.chunkSize },
    );
    for await (const rows of this.requests.batches(candidates)) {
      const marks = await this.requests.all(
        this.collections.seen.find(
          { _id: { $in: rows.map((row) => seenMark(repoId, row.unitId, version)._id) } },
          { projection: { _id: 1 }, batchSize: batchFor(rows.length) },
        ),
      );
      const marked = new Set(marks.map((mark) => mark._id));
      const unseen = rows.filter((row) => !marked.has(seenMark(repoId, row.unitId, version)._id));
      for (const row of unseen) removed[row.typeId] = (removed[row.typeId] ?? 0) + 1;
      await this.requests.bulk(this.collections.content, this.updateByIds(unseen.map((row) => row._id), { versionRemoved: version }));
    }
    return removed;
  }

  /**
   * Undoes every change made under `version` and any later number (none of which can be committed):
   * rows they added go, rows they removed come back, and the "seen" marks go. The writes run in
   * order; repeating them after an interruption finishes the job.
   */
  async rollback(repoId: string, version: number): Promise<void> {
    await this.requests.ordered(this.collections.content, [
      { deleteMany: { filter: { repoId, versionAdded: { $gte: version } } } },
      { updateMany: { filter: { repoId, versionRemoved: { $gte: version } }, update: { $set: { versionRemoved: null } } } },
    ]);
    await this.requests.one(() => this.collections.seen.deleteMany({ repoId }));
  }

  /** Whether `version` added or ended any row (each found by one seek of its version index). */
  async versionChanged(repoId: string, version: number): Promise<boolean> {
    for (const filter of [{ repoId, versionAdded: version }, { repoId, versionRemoved: version }]) {
      const row = await this.requests.one(() => this.collections.content.findOne(filter, { projection: { _id: 1 } }));
      if (row !== null) return true;
    }
    return false;
  }

  async countRepoUnits(repoId: string, version: number): Promise<CountsByType> {
    const groups = await this.requests.all(
      this.collections.content.aggregate<{ _id: string; n: number }>([
        { $match: { repoId, ...visibleIn(version) } },
        { $group: { _id: '$typeId', n: { $sum: 1 } } },
      ]),
    );
    return Object.fromEntries(groups.map((group) => [group._id, group.n]));
  }

  /** The stored units' current revisions and keys (JSON text), by id: one look-up per chunk. */
  private async unitsOf(wanted: ReadonlyMap<string, AssociateRow>): Promise<Map<string, { rev: number; key: string }>> {
    const units = await this.requests.allIn(wanted.keys(), (ids) =>
      this.collections.units.find({ _id: { $in: ids } }, { projection: { key: 1, rev: 1 }, batchSize: batchFor(ids.length) }),
    );
    return new Map(units.map((unit) => [unit._id, { rev: unit.rev ?? 0, key: unit.key }]));
  }

  /** One `updateMany` per chunk of row ids: a single statement whatever the chunk's size. */
  private updateByIds(ids: readonly string[], fields: Partial<ContentDoc>): AnyBulkWriteOperation<ContentDoc>[] {
    return [...chunks(ids, this.requests.chunkSize)].map((chunk) => ({
      updateMany: { filter: { _id: { $in: chunk } }, update: { $set: fields } },
    }));
  }
}

/** The filter of rows visible in `version`. */
export function visibleIn(version: number): Filter<ContentDoc> {
  return { versionAdded: { $lte: version }, $or: [{ versionRemoved: null }, { versionRemoved: { $gt: version } }] };
}

/** A new content row of `unitId`, present from `version` on. */
export function newRow(repoId: string, unitId: string, typeId: string, key: string | null, version: number, origin: UnitOrigin, unitRev: number): ContentDoc {
  return { _id: `${repoId}/${unitId}/${version}`, repoId, unitId, typeId, key, versionAdded: version, versionRemoved: null, origin, unitRev };
}

function seenMark(repoId: string, unitId: string, version: number): SeenDoc {
  return { _id: `${repoId}/${unitId}/${version}`, repoId, version };
}
