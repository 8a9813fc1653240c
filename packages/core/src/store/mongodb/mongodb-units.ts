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
import type { RemoteArtifactRecord, UnitWrite, UpsertStatus } from '../content-store.js';
import type { ArtifactDoc, CatalogCollections, RemoteArtifactDoc, UnitArtifactEntry, UnitDoc } from './mongodb-documents.js';
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
   * what changed in one unordered bulk of upserts by `_id`.
   */
  async upsertUnits(units: readonly UnitWrite[]): Promise<UpsertStatus[]> {
    const stored = new Map<string, { metadata: string; artifacts: Map<string, string | null> }>();
    const existing = await this.requests.allIn(
      units.map((unit) => unit.unitId),
      (ids) => this.collections.units.find({ _id: { $in: ids } }, { projection: { metadata: 1, artifacts: 1 }, batchSize: batchFor(ids.length) }),
    );
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

    const operations: AnyBulkWriteOperation<UnitDoc>[] = [];
    for (const [unitId, { unit, change }] of dirty) {
      const current = stored.get(unitId)!;
      const artifacts = [...current.artifacts].map(([relativePath, sha256]) => ({ relativePath, sha256 }));
      const doc: UnitDoc = { _id: unitId, typeId: unit.typeId, key: JSON.stringify(unit.key), metadata: current.metadata, artifacts };
      if (change === 'created') operations.push({ insertOne: { document: doc } });
      else operations.push(setFields<UnitDoc>(change === 'updated' ? doc : { _id: unitId, artifacts }));
    }
    // created meanwhile by another host: ours is written over it, as a later upsert would
    await this.requests.bulk(this.collections.units, operations, (doc) => [setFields(doc)]);
    return statuses;
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
    const known = new Map((await this.artifactDocs('_id', artifacts.map((a) => a.sha256.toLowerCase()))).map((doc) => [doc._id, doc]));
    const pending = new Map<string, ArtifactDoc>();
    for (const artifact of artifacts) {
      const sha256 = artifact.sha256.toLowerCase();
      const doc = pending.get(sha256) ?? { ...(known.get(sha256) ?? { _id: sha256, size: artifact.size }) };
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
        if (added.length > 0) operations.push(setFields<ArtifactDoc>({ _id: doc._id, ...Object.fromEntries(added.map((a) => [a, doc[a]])) }));
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

  /** Inserts new remote artifacts and rewrites changed ones; unchanged ones cost no write. */
  async upsertRemoteArtifacts(remotes: readonly RemoteArtifactRecord[]): Promise<void> {
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
    for (const doc of wanted.values()) {
      const before = stored.get(doc._id);
      if (before === undefined) operations.push({ insertOne: { document: doc } });
      else if (canonicalJson({ ...before }) !== canonicalJson(doc)) operations.push(setFields(doc));
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
