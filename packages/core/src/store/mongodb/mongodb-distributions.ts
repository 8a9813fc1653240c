import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import type { DistributionInput, DistributionRecord } from '../content-store.js';
import type { CatalogCollections, DistributionDoc } from './mongodb-documents.js';
import { isDuplicateKey, type MongoRequests } from './mongodb-requests.js';

/**
 * Distributions, `_id` being the name. A name or base path already taken is found by asking first,
 * so the error says which; the unique keys (`_id`, `base_path_unique`) decide between two hosts
 * creating at once. Updates check the base path first: FerretDB 1.x does not refuse an update
 * that breaks a unique index with a duplicate key (MongoDB does; that is mapped too).
 */
export class MongoDistributions {
  constructor(
    private readonly collections: CatalogCollections,
    private readonly requests: MongoRequests,
  ) {}

  async create(input: DistributionInput): Promise<DistributionRecord> {
    const name = nonEmpty('name', input.name);
    const basePath = nonEmpty('base path', input.basePath);
    if ((await this.doc(name)) !== null) throw nameTaken(name);
    await this.refuseTakenBasePath(name, basePath);
    const now = new Date().toISOString();
    const doc: DistributionDoc = {
      _id: name,
      basePath,
      repoId: input.repoId,
      version: input.version ?? null,
      publishOptions: JSON.stringify(input.publishOptions ?? {}),
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.requests.one(() => this.collections.distributions.insertOne(doc));
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      // another host got there between the checks and the insert: say which key it took
      if ((await this.doc(name)) !== null) throw nameTaken(name);
      await this.refuseTakenBasePath(name, basePath);
      throw error;
    }
    return toRecord(doc);
  }

  async get(name: string): Promise<DistributionRecord | undefined> {
    const doc = await this.doc(name);
    return doc === null ? undefined : toRecord(doc);
  }

  async list(): Promise<DistributionRecord[]> {
    return (await this.requests.all(this.collections.distributions.find({}, { sort: { _id: 1 } }))).map(toRecord);
  }

  async update(name: string, patch: Partial<Omit<DistributionInput, 'name'>>): Promise<DistributionRecord> {
    const doc = await this.doc(name);
    if (doc === null) {
      throw new TributaryError(ErrorCodes.DISTRIBUTION_NOT_FOUND, `no distribution named '${name}' to update`, { details: { name } });
    }
    const next: DistributionDoc = { ...doc, updatedAt: new Date().toISOString() };
    if (patch.basePath !== undefined && patch.basePath !== doc.basePath) {
      next.basePath = nonEmpty('base path', patch.basePath);
      await this.refuseTakenBasePath(name, next.basePath);
    }
    if (patch.repoId !== undefined) next.repoId = patch.repoId;
    if (patch.version !== undefined) next.version = patch.version;
    if (patch.publishOptions !== undefined) next.publishOptions = JSON.stringify(patch.publishOptions);
    const { basePath, repoId, version, publishOptions, updatedAt } = next;
    let updated;
    try {
      updated = await this.requests.one(() =>
        this.collections.distributions.updateOne({ _id: name }, { $set: { basePath, repoId, version, publishOptions, updatedAt } }),
      );
    } catch (error) {
      if (isDuplicateKey(error)) await this.refuseTakenBasePath(name, basePath);
      throw error;
    }
    if (updated.matchedCount === 0) {
      throw new TributaryError(ErrorCodes.DISTRIBUTION_NOT_FOUND, `no distribution named '${name}' to update (it was deleted meanwhile)`, {
        details: { name },
      });
    }
    return toRecord(next);
  }

  async delete(name: string): Promise<boolean> {
    const deleted = await this.requests.one(() => this.collections.distributions.deleteOne({ _id: name }));
    return deleted.deletedCount > 0;
  }

  private doc(name: string): Promise<DistributionDoc | null> {
    return this.requests.one(() => this.collections.distributions.findOne({ _id: name }));
  }

  private async refuseTakenBasePath(name: string, basePath: string): Promise<void> {
    const holder = await this.requests.one(() =>
      this.collections.distributions.findOne({ basePath, _id: { $ne: name } }, { projection: { _id: 1 } }),
    );
    if (holder !== null) {
      throw new TributaryError(
        ErrorCodes.BASE_PATH_CONFLICT,
        `base path '${basePath}' is already served by distribution '${holder._id}'; choose another base path for '${name}'`,
        { details: { name, basePath, distribution: holder._id } },
      );
    }
  }
}

function nameTaken(name: string): TributaryError {
  return new TributaryError(ErrorCodes.DISTRIBUTION_EXISTS, `a distribution named '${name}' already exists`, { details: { name } });
}

function nonEmpty(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `a distribution's ${what} must be a non-empty string, got ${JSON.stringify(value)}`, {
      details: { [what === 'name' ? 'name' : 'basePath']: value },
    });
  }
  return value;
}

function toRecord(doc: DistributionDoc): DistributionRecord {
  return {
    name: doc._id,
    basePath: doc.basePath,
    repoId: doc.repoId,
    version: doc.version ?? null,
    publishOptions: JSON.parse(doc.publishOptions) as Record<string, unknown>,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}
