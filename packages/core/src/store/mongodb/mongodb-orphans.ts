import type { CatalogCollections } from './mongodb-documents.js';
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
   * Units in no repository-content row of any version go, with their remote-artifact rows (their
   * unit-artifact rows live inside them); then artifacts no unit references.
   */
  async deleteOrphans(): Promise<{ units: number; artifacts: string[] }> {
    let units = 0;
    for await (const ids of this.idChunks(this.collections.units)) {
      const referenced = await this.requests.all(
        this.collections.content.aggregate<{ _id: string }>([{ $match: { unitId: { $in: ids } } }, { $group: { _id: '$unitId' } }]),
      );
      const orphans = without(ids, referenced);
      if (orphans.length === 0) continue;
      await this.requests.one(() => this.collections.remoteArtifacts.deleteMany({ unitId: { $in: orphans } }));
      units += (await this.requests.one(() => this.collections.units.deleteMany({ _id: { $in: orphans } }))).deletedCount;
    }

    const artifacts: string[] = [];
    for await (const shas of this.idChunks(this.collections.artifacts)) {
      const referenced = await this.requests.all(
        this.collections.units.aggregate<{ _id: string }>([
          { $match: { 'artifacts.sha256': { $in: shas } } },
          { $unwind: '$artifacts' },
          { $match: { 'artifacts.sha256': { $in: shas } } },
          { $group: { _id: '$artifacts.sha256' } },
        ]),
      );
      const orphans = without(shas, referenced);
      if (orphans.length === 0) continue;
      await this.requests.one(() => this.collections.artifacts.deleteMany({ _id: { $in: orphans } }));
      artifacts.push(...orphans);
    }
    return { units, artifacts };
  }

  /** The collection's ids in ascending order, a chunk per query. */
  private async *idChunks(collection: CatalogCollections['units'] | CatalogCollections['artifacts']): AsyncIterable<string[]> {
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
