import { randomUUID } from 'node:crypto';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import type { CatalogLeaseRecord, LeaseRecord, RepositoryInput, RepositoryRecord } from '../content-store.js';
import { validRetention } from '../retain-versions.js';
import type { CatalogCollections, RepositoryDoc } from './mongodb-documents.js';

/** The lease collections (per repository, catalog-wide) share one document shape. */
type LeaseCollection = CatalogCollections['leases'] | CatalogCollections['catalogLeases'];
import { isDuplicateKey, type MongoRequests } from './mongodb-requests.js';

/** Repositories, their version pointer and their lease. */
export class MongoRepositories {
  constructor(
    private readonly collections: CatalogCollections,
    private readonly requests: MongoRequests,
  ) {}

  async create(input: RepositoryInput): Promise<RepositoryRecord> {
    const name = validName(input.name);
    const now = new Date().toISOString();
    const doc: RepositoryDoc = {
      _id: randomUUID(),
      name,
      latestVersion: 0,
      importer: input.importer ?? null,
      feedUrl: input.feedUrl ?? null,
      policy: input.policy ?? null,
      config: input.config == null ? null : JSON.stringify(input.config),
      description: input.description ?? null,
      retainVersions: validRetention(input.retainVersions),
      createdAt: now,
      updatedAt: now,
    };
    try {
      // The unique index on name decides between two hosts creating the same name at once.
      await this.requests.one(() => this.collections.repositories.insertOne(doc));
    } catch (error) {
      if (isDuplicateKey(error)) throw nameTaken(name, `a repository named '${name}' already exists`);
      throw error;
    }
    return toRecord(doc);
  }

  async byName(name: string): Promise<RepositoryRecord | undefined> {
    const doc = await this.requests.one(() => this.collections.repositories.findOne({ name }));
    return doc === null ? undefined : toRecord(doc);
  }

  async byId(id: string): Promise<RepositoryRecord | undefined> {
    const doc = await this.requests.one(() => this.collections.repositories.findOne({ _id: id }));
    return doc === null ? undefined : toRecord(doc);
  }

  async list(): Promise<RepositoryRecord[]> {
    const docs = await this.requests.all(this.collections.repositories.find({}).sort({ name: 1 }));
    return docs.map(toRecord);
  }

  async update(id: string, patch: Partial<RepositoryInput>): Promise<RepositoryRecord> {
    const doc = await this.doc(id);
    const next: RepositoryDoc = { ...doc, updatedAt: new Date().toISOString() };
    if (patch.name !== undefined && patch.name !== doc.name) {
      next.name = validName(patch.name);
      // Checked first, because FerretDB does not refuse an update that breaks a unique index
      // (MongoDB does: that duplicate-key error is mapped too, below).
      if ((await this.byName(next.name)) !== undefined) throw renameRefused(doc.name, next.name);
    }
    if (patch.importer !== undefined) next.importer = patch.importer;
    if (patch.feedUrl !== undefined) next.feedUrl = patch.feedUrl;
    if (patch.policy !== undefined) next.policy = patch.policy;
    if (patch.config !== undefined) next.config = patch.config === null ? null : JSON.stringify(patch.config);
    if (patch.description !== undefined) next.description = patch.description;
    if (patch.retainVersions !== undefined) next.retainVersions = validRetention(patch.retainVersions);
    const { name, importer, feedUrl, config, description, updatedAt } = next;
    const policy = next.policy ?? null;
    const retainVersions = next.retainVersions ?? null;
    try {
      await this.requests.one(() =>
        this.collections.repositories.updateOne({ _id: id }, { $set: { name, importer, feedUrl, policy, config, description, retainVersions, updatedAt } }),
      );
    } catch (error) {
      if (isDuplicateKey(error)) throw renameRefused(doc.name, next.name);
      throw error;
    }
    return toRecord(next);
  }

  /** Content rows and history first, the repository last: a delete cut short can simply be repeated. */
  async delete(id: string): Promise<boolean> {
    await this.requests.one(() => this.collections.content.deleteMany({ repoId: id }));
    await this.requests.one(() => this.collections.seen.deleteMany({ repoId: id }));
    await this.requests.one(() => this.collections.history.deleteMany({ repoId: id }));
    await this.requests.one(() => this.collections.versions.deleteMany({ repoId: id }));
    await this.requests.one(() => this.collections.leases.deleteOne({ _id: id }));
    const deleted = await this.requests.one(() => this.collections.repositories.deleteOne({ _id: id }));
    return deleted.deletedCount > 0;
  }

  async latestVersion(id: string): Promise<number> {
    return (await this.doc(id)).latestVersion;
  }

  /** The commit: moves the pointer only from `version - 1`, in one conditional update. */
  async commitVersion(id: string, version: number): Promise<void> {
    const moved = await this.requests.one(() =>
      this.collections.repositories.updateOne(
        { _id: id, latestVersion: version - 1 },
        { $set: { latestVersion: version, updatedAt: new Date().toISOString() } },
      ),
    );
    if (moved.matchedCount === 0) {
      const latest = await this.latestVersion(id);
      throw new TributaryError(
        ErrorCodes.STORE,
        `cannot commit version ${version} of repository ${id}: its latest version is ${latest}, not ${version - 1}`,
        { details: { repoId: id, version, latestVersion: latest } },
      );
    }
  }

  /**
   * One atomic upsert keyed by the repository id: it updates the lease when it is expired or
   * already `holder`'s, and otherwise tries to insert it, which the `_id` refuses with a
   * duplicate key while another holder's lease is live (also when two hosts race for a free one).
   */
  async acquireLease(repoId: string, holder: string, ttlMs: number): Promise<boolean> {
    await this.doc(repoId);
    return this.takeLease(this.collections.leases, repoId, holder, ttlMs);
  }

  /** The atomic take of a lease document: updated while free, expired or `holder`'s, else refused by `_id`. */
  private async takeLease(collection: LeaseCollection, id: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    try {
      await this.requests.one(() => collection.updateOne({ _id: id, $or: [{ holder }, { expiresAt: { $lte: now } }] }, { $set: { holder, expiresAt: now + ttlMs } }, { upsert: true }));
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  async renewLease(repoId: string, holder: string, ttlMs: number): Promise<boolean> {
    const renewed = await this.requests.one(() =>
      this.collections.leases.updateOne({ _id: repoId, holder }, { $set: { expiresAt: Date.now() + ttlMs } }),
    );
    return renewed.matchedCount === 1;
  }

  async releaseLease(repoId: string, holder: string): Promise<void> {
    await this.requests.one(() => this.collections.leases.deleteOne({ _id: repoId, holder }));
  }

  async lease(repoId: string): Promise<LeaseRecord | undefined> {
    const doc = await this.requests.one(() => this.collections.leases.findOne({ _id: repoId }));
    return doc === null ? undefined : { repoId: doc._id, holder: doc.holder, expiresAt: doc.expiresAt };
  }

  /** {@link acquireLease} of a catalog-wide lease: the same atomic upsert, with no repository behind it. */
  async acquireCatalogLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.takeLease(this.collections.catalogLeases, name, holder, ttlMs);
  }

  async renewCatalogLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const renewed = await this.requests.one(() => this.collections.catalogLeases.updateOne({ _id: name, holder }, { $set: { expiresAt: Date.now() + ttlMs } }));
    return renewed.matchedCount === 1;
  }

  async releaseCatalogLease(name: string, holder: string): Promise<void> {
    await this.requests.one(() => this.collections.catalogLeases.deleteOne({ _id: name, holder }));
  }

  async catalogLease(name: string): Promise<CatalogLeaseRecord | undefined> {
    const doc = await this.requests.one(() => this.collections.catalogLeases.findOne({ _id: name }));
    return doc === null ? undefined : { name: doc._id, holder: doc.holder, expiresAt: doc.expiresAt };
  }

  /** The repository's document (TRIBUTARY_ERR_REPO_NOT_FOUND when there is none). */
  async doc(id: string): Promise<RepositoryDoc> {
    const doc = await this.requests.one(() => this.collections.repositories.findOne({ _id: id }));
    if (doc === null) {
      throw new TributaryError(ErrorCodes.REPO_NOT_FOUND, `no repository with id ${id}`, { details: { repoId: id } });
    }
    return doc;
  }
}

function validName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `a repository name must be a non-empty string, got ${JSON.stringify(name)}`, {
      details: { name },
    });
  }
  return name;
}

function nameTaken(name: string, message: string): TributaryError {
  return new TributaryError(ErrorCodes.REPO_EXISTS, message, { details: { name } });
}

function renameRefused(from: string, to: string): TributaryError {
  return nameTaken(to, `cannot rename '${from}': a repository named '${to}' already exists`);
}

function toRecord(doc: RepositoryDoc): RepositoryRecord {
  return {
    id: doc._id,
    name: doc.name,
    importer: doc.importer,
    feedUrl: doc.feedUrl,
    policy: doc.policy ?? null,
    config: doc.config === null ? null : JSON.parse(doc.config),
    description: doc.description,
    retainVersions: doc.retainVersions ?? null,
    latestVersion: doc.latestVersion,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}
