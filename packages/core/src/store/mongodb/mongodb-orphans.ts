import { unitRevisionId, type CatalogCollections } from './mongodb-documents.js';
import { remoteArtifactId } from './mongodb-units.js';
import type { MongoRequests } from './mongodb-requests.js';

/**
 * Orphan cleanup without `$lookup`: walks units (then artifacts) in `_id` order, a chunk at a time,
 * asks which of the chunk are still referenced, and deletes the rest. Memory stays bounded by the
 * chunk size, whatever the catalog's size.
 */
export class MongoOrphans {
  constructor(
    private readonly collections: CatalogCollections,
    private readonly requests: MongoRequests,
  ) {}

  /**
   * Unit revisions no repository-content row pins go; then units in no repository-content row of
   * any version, with their remote-artifact rows (their unit-artifact rows live inside them); then
   * artifacts neither a unit, a kept revision nor a publication entry references (a publisher's
   * generated files are referenced only by their entries). Units and artifacts stored at or after
   * `storedBefore` stay (no `storedAt`: stored before the time was kept, so old).
   */
  async deleteOrphans(storedBefore = Number.MAX_SAFE_INTEGER): Promise<{ units: number; artifacts: string[] }> {
    await this.restorePinnedRevisions();
    for await (const ids of this.idChunks(this.collections.unitRevisions)) {
      const revisions = ids.map((id) => {
        const at = id.lastIndexOf(':');
        return { id, unitId: id.slice(0, at), rev: Number(id.slice(at + 1)) };
      });
      const rows = await this.requests.allIn(
        revisions.map((revision) => revision.unitId),
        (unitIds) => this.collections.content.find({ unitId: { $in: unitIds } }, { projection: { _id: 0, unitId: 1, unitRev: 1 }, batchSize: this.requests.chunkSize }),
      );
      const pinned = new Set(rows.map((row) => `${row.unitId}:${row.unitRev ?? 0}`));
      const orphans = revisions.filter((revision) => !pinned.has(`${revision.unitId}:${revision.rev}`)).map((revision) => revision.id);
      if (orphans.length > 0) await this.requests.one(() => this.collections.unitRevisions.deleteMany({ _id: { $in: orphans } }));
    }

    let units = 0;
    for await (const ids of this.idChunks(this.collections.units)) {
      const referenced = await this.requests.all(
        this.collections.content.aggregate<{ _id: string }>([{ $match: { unitId: { $in: ids } } }, { $group: { _id: '$unitId' } }]),
      );
      const orphans = await this.unprotected(this.collections.units, without(ids, referenced), storedBefore);
      if (orphans.length === 0) continue;
      await this.requests.one(() => this.collections.remoteArtifacts.deleteMany({ unitId: { $in: orphans } }));
      units += (await this.requests.one(() => this.collections.units.deleteMany({ _id: { $in: orphans } }))).deletedCount;
    }

    const artifacts: string[] = [];
    for await (const shas of this.idChunks(this.collections.artifacts)) {
      const pipeline = [
        { $match: { 'artifacts.sha256': { $in: shas } } },
        { $unwind: '$artifacts' },
        { $match: { 'artifacts.sha256': { $in: shas } } },
        { $group: { _id: '$artifacts.sha256' } },
      ];
      const referenced = await this.requests.all(this.collections.units.aggregate<{ _id: string }>(pipeline));
      const unreferenced = without(shas, referenced);
      // what no unit references may still be a file of a revision some version shows
      const unrevised =
        unreferenced.length === 0
          ? unreferenced
          : without(unreferenced, await this.requests.all(this.collections.unitRevisions.aggregate<{ _id: string }>(pipeline)));
      // ... or a file a publication lists (generated files are nowhere else)
      const unlisted =
        unrevised.length === 0
          ? unrevised
          : without(
              unrevised,
              await this.requests.all(
                this.collections.publicationEntries.aggregate<{ _id: string }>([{ $match: { sha256: { $in: unrevised } } }, { $group: { _id: '$sha256' } }]),
              ),
            );
      const orphans = await this.unprotected(this.collections.artifacts, unlisted, storedBefore);
      if (orphans.length === 0) continue;
      await this.requests.one(() => this.collections.artifacts.deleteMany({ _id: { $in: orphans } }));
      artifacts.push(...orphans);
    }
    return { units, artifacts };
  }

  /**
   * A unit whose current state no content row shows any more, while rows still show one of its
   * kept revisions (the repository whose sync wrote it last was deleted), takes the newest such
   * revision back (metadata, files and remote sources) and `rev` again: no row pins, and no kept
   * revision has, a higher one (those are unpinned and go next). Walks the units that have
   * revisions, a chunk at a time.
   */
  private async restorePinnedRevisions(): Promise<void> {
    const seenUnits = new Set<string>();
    for await (const ids of this.idChunks(this.collections.unitRevisions)) {
      const unitIds = [...new Set(ids.map((id) => id.slice(0, id.lastIndexOf(':'))))].filter((unitId) => !seenUnits.has(unitId));
      for (const unitId of unitIds) seenUnits.add(unitId);
      if (unitIds.length === 0) continue;
      const rows = await this.requests.allIn(unitIds, (chunk) =>
        this.collections.content.find({ unitId: { $in: chunk } }, { projection: { _id: 0, unitId: 1, unitRev: 1 }, batchSize: this.requests.chunkSize }),
      );
      const units = await this.requests.allIn(unitIds, (chunk) =>
        this.collections.units.find({ _id: { $in: chunk } }, { projection: { _id: 1, rev: 1 }, batchSize: this.requests.chunkSize }),
      );
      const currentRev = new Map(units.map((unit) => [unit._id, unit.rev ?? 0]));
      const showsCurrent = new Set<string>();
      const newest = new Map<string, number>();
      for (const row of rows) {
        const rev = row.unitRev ?? 0;
        if (rev === currentRev.get(row.unitId)) showsCurrent.add(row.unitId);
        else newest.set(row.unitId, Math.max(newest.get(row.unitId) ?? -1, rev));
      }
      const wanted = [...newest].flatMap(([unitId, rev]) => (showsCurrent.has(unitId) || !currentRev.has(unitId) ? [] : [unitRevisionId(unitId, rev)]));
      if (wanted.length === 0) continue;
      const revisions = await this.requests.allIn(wanted, (chunk) =>
        this.collections.unitRevisions.find({ _id: { $in: chunk } }, { batchSize: this.requests.chunkSize }),
      );
      for (const revision of revisions) {
        await this.requests.one(() =>
          this.collections.units.updateOne(
            { _id: revision.unitId },
            { $set: { metadata: revision.metadata, artifacts: revision.artifacts, rev: revision.rev } },
          ),
        );
        await this.requests.one(() => this.collections.remoteArtifacts.deleteMany({ unitId: revision.unitId }));
        if (revision.remotes.length > 0) {
          await this.requests.one(() =>
            this.collections.remoteArtifacts.insertMany(
              revision.remotes.map((remote) => ({ ...remote, _id: remoteArtifactId(revision.unitId, remote.relativePath, remote.remote), unitId: revision.unitId })),
            ),
          );
        }
        await this.requests.one(() => this.collections.unitRevisions.deleteOne({ _id: revision._id }));
      }
    }
  }

  /** `ids` less those stored at or after `storedBefore` (the protection time): one look-up. */
  private async unprotected(collection: CatalogCollections['units'] | CatalogCollections['artifacts'], ids: string[], storedBefore: number): Promise<string[]> {
    if (ids.length === 0 || storedBefore === Number.MAX_SAFE_INTEGER) return ids;
    const recent = await this.requests.all(
      (collection as CatalogCollections['units']).find({ _id: { $in: ids }, storedAt: { $gte: storedBefore } }, { projection: { _id: 1 }, batchSize: ids.length + 1 }),
    );
    return without(ids, recent);
  }

  /** The collection's ids in ascending order, a chunk per query. */
  private async *idChunks(
    collection: CatalogCollections['units'] | CatalogCollections['artifacts'] | CatalogCollections['unitRevisions'],
  ): AsyncIterable<string[]> {
    const limit = this.requests.chunkSize;
    let after: string | undefined;
    for (;;) {
      const filter = after === undefined ? {} : { _id: { $gt: after } };
      const docs = await this.requests.all(
        (collection as CatalogCollections['units']).find(filter, { projection: { _id: 1 }, sort: { _id: 1 }, limit, batchSize: limit }),
      );
      const ids = docs.map((doc) => doc._id);
      if (ids.length > 0) yield ids;
      if (ids.length < limit) return;
      after = ids[ids.length - 1];
    }
  }
}

function without(ids: readonly string[], referenced: readonly { _id: string }[]): string[] {
  const kept = new Set(referenced.map((doc) => doc._id));
  return ids.filter((id) => !kept.has(id));
}
