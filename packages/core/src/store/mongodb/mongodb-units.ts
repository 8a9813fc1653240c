import { createHash } from 'node:crypto';
import {
  DIGEST_ALGORITHMS,
  ErrorCodes,
  TributaryError,
  type ArtifactRecord,
  type DigestAlgorithm,
  type Digests,
  type ExistingUnit,
} from '@tributary/plugin-api';
import type { AnyBulkWriteOperation } from 'mongodb';
import { canonicalJson } from '../canonical-json.js';
import type { CatalogUnit, RemoteArtifactRecord, UnitWrite, UpsertStatus } from '../content-store.js';
import { unitRevisionId, type ArtifactDoc, type CatalogCollections, type RemoteArtifactDoc, type UnitArtifactEntry, type UnitDoc, type UnitRevisionDoc } from './mongodb-documents.js';
import { batchFor, type MongoRequests } from './mongodb-requests.js';
import { lowerCaseDigests } from '../lower-case-digests.js';

/** Units (with their unit-artifact rows), artifacts and remote artifacts: the repository-independent catalog. */
export class MongoUnits {
  constructor(
    private readonly collections: CatalogCollections,
    private readonly requests: MongoRequests,
  ) {}

  /**
   * Reads the stored versions of the units (chunked `$in`), decides per input, then writes only
   * what changed in one unordered bulk of upserts by `_id`. A stored unit that changes and that
   * content rows refer to first has its state kept as a revision (see {@link keepRevisions}), and
   * its `rev` goes up. Returns the statuses and the units whose revision this call settled (created,
   * or moved to a new revision), for the remote sources written with them.
   */
  async upsertUnitsRevised(units: readonly UnitWrite[]): Promise<{ statuses: UpsertStatus[]; settled: Set<string> }> {
    const stored = new Map<string, { metadata: string; artifacts: Map<string, string | null> }>();
    const existing = await this.requests.allIn(
      units.map((unit) => unit.unitId),
      (ids) =>
        this.collections.units.find({ _id: { $in: ids } }, { projection: { metadata: 1, artifacts: 1, rev: 1 }, batchSize: batchFor(ids.length) }),
    );
    const before = new Map(existing.map((doc) => [doc._id, doc]));
    for (const doc of existing) stored.set(doc._id, { metadata: doc.metadata, artifacts: artifactMap(doc.artifacts) });

    const statuses: UpsertStatus[] = [];
    // per unit to write: the input to write it from, and whether it is new, has new metadata, or
    // only changed unit-artifact rows
    const dirty = new Map<string, { unit: UnitWrite; change: 'created' | 'updated' | 'artifacts' }>();
    for (const unit of units) {
      const metadata = unit.metadataJson ?? canonicalJson(unit.metadata ?? {});
      let current = stored.get(unit.unitId);
      if (current?.metadata === metadata) statuses.push('unchanged');
      else {
        const status = current === undefined ? 'created' : 'updated';
        statuses.push(status);
        current = { metadata, artifacts: current?.artifacts ?? new Map() };
        stored.set(unit.unitId, current);
        dirty.set(unit.unitId, { unit, change: dirty.get(unit.unitId)?.change === 'created' ? 'created' : status });
      }
      for (const artifact of unit.artifacts ?? []) {
        const sha256 = artifact.sha256?.toLowerCase() ?? null;
        // a null sha256 (bytes deferred) never erases a known one
        if (current.artifacts.has(artifact.relativePath) && (sha256 === null || current.artifacts.get(artifact.relativePath) === sha256)) continue;
        current.artifacts.set(artifact.relativePath, sha256);
        if (!dirty.has(unit.unitId)) dirty.set(unit.unitId, { unit, change: 'artifacts' });
      }
    }

    // stored units that change, but whose files only gain the bytes they lacked, stay the same revision
    const changing = [...dirty].flatMap(([unitId, { change }]) => {
      const doc = before.get(unitId);
      if (change === 'created' || doc === undefined) return [];
      if (change === 'artifacts' && completesDeferredFiles(doc.artifacts, stored.get(unitId)!.artifacts)) return [];
      return [doc];
    });
    const revised = await this.keepRevisions(changing);
    // when each unit was last written: orphan cleanup's protection time goes by it
    const storedAt = Date.now();
    const settled = new Set<string>();
    const operations: AnyBulkWriteOperation<UnitDoc>[] = [];
    for (const [unitId, { unit, change }] of dirty) {
      const current = stored.get(unitId)!;
      const artifacts = [...current.artifacts].map(([relativePath, sha256]) => ({ relativePath, sha256 }));
      const rev = revised.get(unitId);
      if (change === 'created' || rev !== undefined) settled.add(unitId);
      const doc: UnitDoc = { _id: unitId, typeId: unit.typeId, key: JSON.stringify(unit.key), metadata: current.metadata, artifacts, storedAt };
      if (rev !== undefined) doc.rev = rev;
      if (change === 'created') operations.push({ insertOne: { document: doc } });
      else operations.push(setFields<UnitDoc>(change === 'updated' ? doc : { _id: unitId, artifacts, storedAt, ...(rev === undefined ? {} : { rev }) }));
    }
    // created meanwhile by another host: ours is written over it, as a later upsert would
    await this.requests.bulk(this.collections.units, operations, (doc) => [setFields<UnitDoc>(doc)]);
    return { statuses, settled };
  }

  async upsertUnits(units: readonly UnitWrite[]): Promise<UpsertStatus[]> {
    return (await this.upsertUnitsRevised(units)).statuses;
  }

  /**
   * Keeps the stored state (metadata, files, remote sources) of the given units that content rows
   * refer to as revision documents under their current `rev`, before a write replaces it; returns
   * each such unit's next `rev`. A unit no content row refers to is written over in place: no
   * version shows it. (Another host associating it between this look-up and the write would see
   * the new state in the version it is writing, not yet committed.) Costs nothing when no stored
   * unit changes: one look-up of content rows, one of remote sources and one insert per batch otherwise.
   */
  private async keepRevisions(docs: readonly UnitDoc[]): Promise<Map<string, number>> {
    const next = new Map<string, number>();
    if (docs.length === 0) return next;
    const referenced = new Set(
      (
        await this.requests.allIn(
          docs.map((doc) => doc._id),
          (ids) => this.collections.content.aggregate<{ _id: string }>([{ $match: { unitId: { $in: ids } } }, { $group: { _id: '$unitId' } }]),
        )
      ).map((row) => row._id),
    );
    const kept = docs.filter((doc) => referenced.has(doc._id));
    if (kept.length === 0) return next;
    const remotes = await this.requests.allIn(
      kept.map((doc) => doc._id),
      (ids) => this.collections.remoteArtifacts.find({ unitId: { $in: ids } }, { batchSize: batchFor(ids.length * 2) }),
    );
    const remotesOf = new Map<string, RemoteArtifactDoc[]>();
    for (const remote of remotes) {
      let list = remotesOf.get(remote.unitId);
      if (list === undefined) remotesOf.set(remote.unitId, (list = []));
      list.push(remote);
    }
    const revisions: UnitRevisionDoc[] = kept.map((doc) => {
      const rev = doc.rev ?? 0;
      next.set(doc._id, rev + 1);
      return {
        _id: unitRevisionId(doc._id, rev),
        unitId: doc._id,
        rev,
        metadata: doc.metadata,
        artifacts: sortedArtifacts(doc.artifacts),
        remotes: (remotesOf.get(doc._id) ?? [])
          .map(({ relativePath, remote, urls, size, digests }) => ({ relativePath, remote, urls, size, digests }))
          .sort((a, b) => compareText(a.relativePath, b.relativePath) || compareText(a.remote, b.remote)),
      };
    });
    // kept already by an earlier attempt of this request: it is right as it is
    await this.requests.bulk(this.collections.unitRevisions, revisions.map((document) => ({ insertOne: { document } })), () => []);
    return next;
  }

  /** Units by id, in the order asked, with their unit-artifact rows sorted by path. */
  async findUnits(unitIds: readonly string[]): Promise<ExistingUnit[]> {
    const docs = await this.unitDocs(unitIds);
    const byId = new Map(docs.map((doc) => [doc._id, doc]));
    return [...new Set(unitIds)].flatMap((id) => {
      const doc = byId.get(id);
      if (doc === undefined) return [];
      return [{ unitId: doc._id, typeId: doc.typeId, key: JSON.parse(doc.key), metadata: JSON.parse(doc.metadata), artifacts: sortedArtifacts(doc.artifacts) }];
    });
  }

  /**
   * One page of the catalog's units of `typeId` in `_id` order after `after`, and where the next
   * starts (none after the last): a range of the `_id` index, filtered by type.
   */
  async catalogUnitsPage(typeId: string, after: string | undefined, limit: number): Promise<{ items: CatalogUnit[]; next: string | undefined }> {
    const docs = await this.requests.all(
      this.collections.units.find(
        { typeId, ...(after === undefined ? {} : { _id: { $gt: after } }) },
        { projection: { _id: 1, key: 1, metadata: 1 }, sort: { _id: 1 }, limit, batchSize: batchFor(limit) },
      ),
    );
    return {
      items: docs.map((doc) => ({ unitId: doc._id, typeId, key: JSON.parse(doc.key), metadata: JSON.parse(doc.metadata) })),
      next: docs.length === limit ? docs[docs.length - 1]!._id : undefined,
    };
  }

  /** Whole unit documents by id (chunked `$in`), in no particular order. */
  unitDocs(unitIds: Iterable<string>, projection?: Partial<Record<keyof UnitDoc, 1>>): Promise<UnitDoc[]> {
    return this.requests.allIn(unitIds, (ids) =>
      this.collections.units.find({ _id: { $in: ids } }, { batchSize: batchFor(ids.length), ...(projection ? { projection } : {}) }),
    );
  }

  /**
   * New artifacts are inserted whole; known ones only gain digests they lacked. Known digests are
   * never overwritten: they were verified against the stored bytes.
   */
  async upsertArtifacts(artifacts: readonly ArtifactRecord[]): Promise<void> {
    // storing the bytes (again) renews the time orphan cleanup's protection goes by
    const storedAt = Date.now();
    const known = new Map((await this.artifactDocs('_id', artifacts.map((a) => a.sha256.toLowerCase()))).map((doc) => [doc._id, doc]));
    const pending = new Map<string, ArtifactDoc>();
    for (const artifact of artifacts) {
      const sha256 = artifact.sha256.toLowerCase();
      const doc = pending.get(sha256) ?? { ...(known.get(sha256) ?? { _id: sha256, size: artifact.size }), storedAt };
      for (const algorithm of OTHER_DIGESTS) {
        const value = artifact.digests[algorithm]?.toLowerCase();
        if (value !== undefined && doc[algorithm] === undefined) doc[algorithm] = value;
      }
      pending.set(sha256, doc);
    }
    const operations: AnyBulkWriteOperation<ArtifactDoc>[] = [];
    for (const doc of pending.values()) {
      const before = known.get(doc._id);
      if (before === undefined) operations.push({ insertOne: { document: doc } });
      else {
        const added = OTHER_DIGESTS.filter((algorithm) => before[algorithm] === undefined && doc[algorithm] !== undefined);
        operations.push(setFields<ArtifactDoc>({ _id: doc._id, storedAt, ...Object.fromEntries(added.map((a) => [a, doc[a]])) }));
      }
    }
    // inserted meanwhile by another host: add only the digests it did not record
    await this.requests.bulk(this.collections.artifacts, operations, (doc) =>
      OTHER_DIGESTS.flatMap((algorithm) =>
        doc[algorithm] === undefined
          ? []
          : [{ updateOne: { filter: { _id: doc._id, [algorithm]: { $exists: false } }, update: { $set: { [algorithm]: doc[algorithm] } } } }],
      ),
    );
  }

  async findArtifacts(algorithm: DigestAlgorithm, digests: readonly string[]): Promise<ArtifactRecord[]> {
    if (!DIGEST_ALGORITHMS.includes(algorithm)) {
      throw new TributaryError(
        ErrorCodes.INVALID_ARGUMENT,
        `unknown digest algorithm '${String(algorithm)}'; expected one of ${DIGEST_ALGORITHMS.join(', ')}`,
        { details: { algorithm } },
      );
    }
    const docs = await this.artifactDocs(algorithm === 'sha256' ? '_id' : algorithm, digests.map((d) => d.toLowerCase()));
    return docs.map((doc) => ({ sha256: doc._id, size: doc.size, digests: artifactDigests(doc) }));
  }

  /** Artifact documents whose `field` is one of `values` (chunked `$in`). */
  artifactDocs(field: '_id' | Exclude<DigestAlgorithm, 'sha256'>, values: Iterable<string>): Promise<ArtifactDoc[]> {
    return this.requests.allIn(values, (chunk) => this.collections.artifacts.find({ [field]: { $in: chunk } }, { batchSize: batchFor(chunk.length) }));
  }

  /**
   * Inserts new remote artifacts and rewrites changed ones; unchanged ones cost no write. A unit
   * whose remote sources change moves to a new revision (see {@link keepRevisions}) unless
   * `settled` (units whose revision the same call's unit write settled) names it.
   */
  async upsertRemoteArtifacts(remotes: readonly RemoteArtifactRecord[], settled: ReadonlySet<string> = new Set()): Promise<void> {
    const wanted = new Map<string, RemoteArtifactDoc>();
    for (const remote of remotes) {
      const _id = remoteArtifactId(remote.unitId, remote.relativePath, remote.remote);
      // the last write of one (unit, path, remote) in the batch wins, as if written in order
      wanted.set(_id, {
        _id,
        unitId: remote.unitId,
        relativePath: remote.relativePath,
        remote: remote.remote,
        urls: [...remote.urls],
        size: remote.size ?? null,
        digests: lowerCaseDigests(remote.digests ?? {}),
      });
    }
    const stored = new Map(
      (
        await this.requests.allIn(wanted.keys(), (ids) =>
          this.collections.remoteArtifacts.find({ _id: { $in: ids } }, { batchSize: batchFor(ids.length) }),
        )
      ).map((doc) => [doc._id, doc]),
    );
    const operations: AnyBulkWriteOperation<RemoteArtifactDoc>[] = [];
    const changedUnits = new Set<string>();
    for (const doc of wanted.values()) {
      const before = stored.get(doc._id);
      if (before === undefined) operations.push({ insertOne: { document: doc } });
      else if (canonicalJson({ ...before }) !== canonicalJson(doc)) operations.push(setFields(doc));
      else continue;
      if (!settled.has(doc.unitId)) changedUnits.add(doc.unitId);
    }
    if (changedUnits.size > 0) {
      const revised = await this.keepRevisions(await this.unitDocs(changedUnits, { metadata: 1, artifacts: 1, rev: 1 }));
      const storedAt = Date.now();
      await this.requests.bulk(
        this.collections.units,
        [...revised].map(([_id, rev]) => setFields<UnitDoc>({ _id, rev, storedAt })),
      );
    }
    await this.requests.bulk(this.collections.remoteArtifacts, operations, (doc) => [setFields(doc)]);
  }
}

/** An update of one document by `_id` setting the given fields. */
function setFields<T extends { _id: string }>(fields: Pick<T, '_id'> & Partial<T>): AnyBulkWriteOperation<T> {
  const { _id, ...rest } = fields;
  return { updateOne: { filter: { _id }, update: { $set: rest } } } as AnyBulkWriteOperation<T>;
}

const OTHER_DIGESTS = DIGEST_ALGORITHMS.filter((algorithm): algorithm is Exclude<DigestAlgorithm, 'sha256'> => algorithm !== 'sha256');

/** Every digest known of an artifact, sha256 included. */
export function artifactDigests(doc: ArtifactDoc): Digests {
  const digests: Digests = {};
  for (const algorithm of DIGEST_ALGORITHMS) {
    const value = algorithm === 'sha256' ? doc._id : doc[algorithm];
    if (typeof value === 'string') digests[algorithm] = value;
  }
  return digests;
}

export function remoteArtifactId(unitId: string, relativePath: string, remote: string): string {
  return createHash('sha256').update(unitId).update('\u0000').update(relativePath).update('\u0000').update(remote).digest('hex');
}

/** True when `after` only gives bytes (a sha256) to files `before` lists without one: same paths. */
function completesDeferredFiles(before: readonly UnitArtifactEntry[] | undefined, after: ReadonlyMap<string, string | null>): boolean {
  const entries = before ?? [];
  return entries.length === after.size && entries.every((entry) => after.has(entry.relativePath) && (entry.sha256 === null || entry.sha256 === after.get(entry.relativePath)));
}

function artifactMap(entries: readonly UnitArtifactEntry[] | undefined): Map<string, string | null> {
  return new Map((entries ?? []).map((entry) => [entry.relativePath, entry.sha256]));
}

export function sortedArtifacts(entries: readonly UnitArtifactEntry[] | undefined): UnitArtifactEntry[] {
  return (entries ?? [])
    .map(({ relativePath, sha256 }) => ({ relativePath, sha256 }))
    .sort((a, b) => compareText(a.relativePath, b.relativePath));
}


/** A stable order for relative paths (UTF-16 code units; paths are compared, never collated). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
