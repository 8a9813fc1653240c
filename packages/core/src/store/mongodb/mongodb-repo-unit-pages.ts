import type { Digests, RepoUnitKey } from '@tributary/plugin-api';
import type { Filter } from 'mongodb';
import type { RepoUnitArtifactView, RepoUnitView } from '../content-store.js';
import type { ArtifactDoc, CatalogCollections, ContentDoc, RemoteArtifactDoc, UnitArtifactEntry, UnitDoc } from './mongodb-documents.js';
import { visibleIn } from './mongodb-repository-content.js';
import { batchFor, type MongoRequests } from './mongodb-requests.js';
import { artifactDigests, sortedArtifacts, type MongoUnits } from './mongodb-units.js';

/** Where the previous page ended, in (type, unit id) order. */
export interface PageCursor {
  readonly typeId: string;
  readonly unitId: string;
}

/** One page, and where the next one starts (undefined after the last page). */
export interface Page<T> {
  readonly items: T[];
  readonly next: PageCursor | undefined;
}

/**
 * Pages of a repository version's units, in (type, unit id) order, read by key (each page starts
 * after the last one's end) rather than through one long-lived server cursor: memory stays bounded,
 * nothing times out while a slow consumer holds the stream, and the sync may write the next version
 * between pages. A page is one query of content rows joined in the client with the units (and, for
 * full views, artifacts and remote artifacts) by `$in`: MongoDB's `$lookup` is not used.
 */
export class MongoRepoUnitPages {
  constructor(
    private readonly collections: CatalogCollections,
    private readonly requests: MongoRequests,
    private readonly units: MongoUnits,
  ) {}

  async keys(repoId: string, version: number, typeId: string | undefined, after: PageCursor | undefined, limit: number): Promise<Page<RepoUnitKey>> {
    const rows = await this.contentRows(repoId, version, typeId, after, limit);
    const units = await this.unitsOf(rows, { key: 1 });
    const items = rows.flatMap((row) => {
      const unit = units.get(row.unitId);
      return unit === undefined ? [] : [{ unitId: row.unitId, typeId: row.typeId, key: JSON.parse(unit.key), origin: row.origin }];
    });
    return { items, next: nextCursor(rows, limit) };
  }

  async views(repoId: string, version: number, typeId: string | undefined, after: PageCursor | undefined, limit: number): Promise<Page<RepoUnitView>> {
    const rows = await this.contentRows(repoId, version, typeId, after, limit);
    const units = await this.unitsOf(rows);
    const entries = [...units.values()].flatMap((unit) => unit.artifacts ?? []);
    const storedShas = entries.flatMap((entry) => (entry.sha256 === null ? [] : [entry.sha256]));
    const artifacts = new Map((await this.units.artifactDocs('_id', storedShas)).map((doc) => [doc._id, doc]));
    const remotes = await this.requests.allIn(units.keys(), (ids) =>
      this.collections.remoteArtifacts.find({ unitId: { $in: ids } }, { sort: { unitId: 1, remote: 1 }, batchSize: batchFor(ids.length * 2) }),
    );
    const remotesByPath = new Map<string, RemoteArtifactDoc[]>();
    for (const remote of remotes) {
      const id = `${remote.unitId}\u0000${remote.relativePath}`;
      let list = remotesByPath.get(id);
      if (list === undefined) remotesByPath.set(id, (list = []));
      list.push(remote);
    }
    const items = rows.flatMap((row) => {
      const unit = units.get(row.unitId);
      if (unit === undefined) return [];
      const views = sortedArtifacts(unit.artifacts).map((entry) =>
        artifactView(entry, entry.sha256 === null ? undefined : artifacts.get(entry.sha256), remotesByPath.get(`${unit._id}\u0000${entry.relativePath}`) ?? []),
      );
      return [{ unitId: row.unitId, typeId: row.typeId, key: JSON.parse(unit.key), metadata: JSON.parse(unit.metadata), origin: row.origin, artifacts: views }];
    });
    return { items, next: nextCursor(rows, limit) };
  }

  /** One page of content rows: one query (the index on repository, type and unit serves it). */
  private contentRows(
    repoId: string,
    version: number,
    typeId: string | undefined,
    after: PageCursor | undefined,
    limit: number,
  ): Promise<Pick<ContentDoc, 'unitId' | 'typeId' | 'origin'>[]> {
    const conditions: Filter<ContentDoc>[] = [{ repoId, ...(typeId === undefined ? {} : { typeId }) }, visibleIn(version)];
    if (after !== undefined) {
      conditions.push(
        typeId === undefined
          ? { $or: [{ typeId: { $gt: after.typeId } }, { typeId: after.typeId, unitId: { $gt: after.unitId } }] }
          : { unitId: { $gt: after.unitId } },
      );
    }
    return this.requests.all(
      this.collections.content.find(
        { $and: conditions },
        { projection: { _id: 0, unitId: 1, typeId: 1, origin: 1 }, sort: { typeId: 1, unitId: 1 }, limit, batchSize: limit },
      ),
    );
  }

  private async unitsOf(rows: readonly { unitId: string }[], projection?: Partial<Record<keyof UnitDoc, 1>>): Promise<Map<string, UnitDoc>> {
    if (rows.length === 0) return new Map();
    const docs = await this.units.unitDocs(
      rows.map((row) => row.unitId),
      projection,
    );
    return new Map(docs.map((doc) => [doc._id, doc]));
  }
}

/** A short page is the last; otherwise the next starts after this one's last row. */
function nextCursor(rows: readonly { typeId: string; unitId: string }[], limit: number): PageCursor | undefined {
  const last = rows[rows.length - 1];
  return rows.length < limit || last === undefined ? undefined : { typeId: last.typeId, unitId: last.unitId };
}

/** The same view as the SQLite store builds: stored bytes' digests win over what an upstream announced. */
function artifactView(entry: UnitArtifactEntry, artifact: ArtifactDoc | undefined, remotes: readonly RemoteArtifactDoc[]): RepoUnitArtifactView {
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
