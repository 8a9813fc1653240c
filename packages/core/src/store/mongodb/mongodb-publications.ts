import { randomUUID } from 'node:crypto';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import type { PublicationEntry, PublicationInput, PublicationRecord, PublicationSummary } from '../content-store.js';
import { lowerCaseDigests } from '../lower-case-digests.js';
import type { CatalogCollections, PublicationDoc, PublicationEntryDoc } from './mongodb-documents.js';
import { mongodbDriver } from './mongodb-driver.js';
import { batchFor, chunks, DUPLICATE_KEY, type MongoRequests } from './mongodb-requests.js';

/**
 * Publications and their entries. Entries are unique by (publicationId, path) through a unique
 * index, which decides which of two writes of a path is first: inserts are unordered and a
 * duplicate key only means "already there".
 */
export class MongoPublications {
  constructor(
    private readonly collections: CatalogCollections,
    private readonly requests: MongoRequests,
  ) {}

  /** A new, incomplete publication of an existing repository; returns its id (a random UUID). */
  async create(input: PublicationInput): Promise<string> {
    const repository = await this.requests.one(() =>
      this.collections.repositories.findOne({ _id: input.repoId }, { projection: { _id: 1 } }),
    );
    if (repository === null) {
      throw new TributaryError(ErrorCodes.REPO_NOT_FOUND, `cannot publish: no repository with id ${input.repoId}`, {
        details: { repoId: input.repoId },
      });
    }
    const doc: PublicationDoc = {
      _id: randomUUID(),
      repoId: input.repoId,
      version: input.version,
      publisherKey: input.publisherKey,
      publisher: input.publisher,
      options: JSON.stringify(input.options ?? {}),
      createdAt: input.createdAt,
      complete: false,
      summary: null,
    };
    await this.requests.one(() => this.collections.publications.insertOne(doc));
    return doc._id;
  }

  /**
   * Inserts entries into an incomplete publication in one unordered `insertMany`. A path given
   * twice in the batch keeps its first entry here; one stored by an earlier batch (or another
   * host) is refused by the unique index, which is no failure. Returns how many were inserted.
   */
  async addEntries(publicationId: string, entries: readonly PublicationEntry[]): Promise<number> {
    const publication = await this.requests.one(() =>
      this.collections.publications.findOne({ _id: publicationId }, { projection: { _id: 1, complete: 1 } }),
    );
    if (publication === null) {
      throw new TributaryError(ErrorCodes.STORE, `cannot add entries to publication ${publicationId}: there is no such publication (was it deleted?)`, {
        details: { publicationId },
      });
    }
    if (publication.complete) {
      throw new TributaryError(ErrorCodes.STORE, `cannot add entries to publication ${publicationId}: it is complete, and a complete publication never changes`, {
        details: { publicationId },
      });
    }
    const seen = new Set<string>();
    const docs: PublicationEntryDoc[] = [];
    for (const entry of entries) {
      if (seen.has(entry.path)) continue;
      seen.add(entry.path);
      docs.push({
        publicationId,
        path: entry.path,
        kind: entry.kind,
        sha256: entry.sha256 ?? null,
        size: entry.size ?? null,
        digests: lowerCaseDigests(entry.digests ?? {}),
        urls: [...(entry.urls ?? [])],
        unitId: entry.unitId ?? null,
      });
    }
    if (docs.length === 0) return 0;
    try {
      const inserted = await this.requests.one(() => this.collections.publicationEntries.insertMany(docs, { ordered: false }));
      return inserted.insertedCount;
    } catch (error) {
      if (!(error instanceof mongodbDriver().MongoBulkWriteError)) throw error;
      const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
      if (writeErrors.some((writeError) => writeError.code !== DUPLICATE_KEY)) throw error;
      return error.insertedCount;
    }
  }

  /** Makes the publication visible with its summary; completing it again changes nothing. */
  async complete(publicationId: string, summary: PublicationSummary): Promise<void> {
    const completed = await this.requests.one(() =>
      this.collections.publications.updateOne(
        { _id: publicationId, complete: false },
        {
          $set: {
            complete: true,
            summary: {
              files: summary.files,
              bytes: summary.bytes,
              conflicts: summary.conflicts,
              info: JSON.stringify(summary.info ?? {}),
              completedAt: summary.completedAt,
            },
          },
        },
      ),
    );
    if (completed.matchedCount > 0) return;
    const exists = await this.requests.one(() => this.collections.publications.findOne({ _id: publicationId }, { projection: { _id: 1 } }));
    if (exists === null) {
      throw new TributaryError(ErrorCodes.STORE, `cannot complete publication ${publicationId}: there is no such publication (was it deleted?)`, {
        details: { publicationId },
      });
    }
  }

  /** Entries first, the publication last: a delete cut short can simply be repeated. */
  async delete(publicationId: string): Promise<void> {
    await this.requests.one(() => this.collections.publicationEntries.deleteMany({ publicationId }));
    await this.requests.one(() => this.collections.publications.deleteOne({ _id: publicationId }));
  }

  /** Every publication of a repository and their entries (the repository is being deleted). */
  async deleteOfRepository(repoId: string): Promise<void> {
    const publications = await this.requests.all(this.collections.publications.find({ repoId }, { projection: { _id: 1 } }));
    for (const ids of chunks(publications.map((publication) => publication._id), this.requests.chunkSize)) {
      await this.requests.one(() => this.collections.publicationEntries.deleteMany({ publicationId: { $in: ids } }));
    }
    if (publications.length > 0) await this.requests.one(() => this.collections.publications.deleteMany({ repoId }));
  }

  /**
   * The complete publication of the highest version at most (or exactly) `maxVersion`; of several,
   * the one completed last (then created last).
   */
  async find(repoId: string, publisherKey: string, maxVersion: number, exact: boolean): Promise<PublicationRecord | undefined> {
    const doc = await this.requests.one(() =>
      this.collections.publications.findOne(
        { repoId, publisherKey, complete: true, version: exact ? maxVersion : { $lte: maxVersion } },
        { sort: { version: -1, 'summary.completedAt': -1, createdAt: -1 } },
      ),
    );
    return doc === null ? undefined : toRecord(doc);
  }

  /** Newest first: highest version first, then the one created last. */
  async list(repoId: string): Promise<PublicationRecord[]> {
    const docs = await this.requests.all(this.collections.publications.find({ repoId }, { sort: { version: -1, createdAt: -1, _id: -1 } }));
    return docs.map(toRecord);
  }

  async entry(publicationId: string, path: string): Promise<PublicationEntry | undefined> {
    const doc = await this.requests.one(() => this.collections.publicationEntries.findOne({ publicationId, path }, { projection: { _id: 0 } }));
    return doc === null ? undefined : toEntry(doc);
  }

  /**
   * Entries in path order (MongoDB compares strings by their UTF-8 bytes, as SQLite's BINARY
   * does), one range of the (publicationId, path) index.
   */
  async entries(publicationId: string, options: { prefix?: string; after?: string; limit: number }): Promise<PublicationEntry[]> {
    const limit = Math.floor(options.limit);
    if (!(limit > 0)) return [];
    const range: { $gte?: string; $lt?: string; $gt?: string } = {};
    if (options.prefix !== undefined && options.prefix !== '') {
      range.$gte = options.prefix;
      const end = prefixEnd(options.prefix);
      if (end !== undefined) range.$lt = end;
    }
    if (options.after !== undefined) range.$gt = options.after;
    const filter = Object.keys(range).length === 0 ? { publicationId } : { publicationId, path: range };
    const docs = await this.requests.all(
      this.collections.publicationEntries.find(filter, { projection: { _id: 0 }, sort: { path: 1 }, limit, batchSize: batchFor(limit) }),
    );
    return docs.map(toEntry);
  }
}

/**
 * The least string above every string that starts with `prefix`, in code-point order (the byte
 * order of UTF-8, which is how MongoDB compares strings); undefined when there is none.
 */
export function prefixEnd(prefix: string): string | undefined {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      // the surrogate range is no character: after U+D7FF comes U+E000
      const next = last >= 0xd7ff && last < 0xe000 ? 0xe000 : last + 1;
      return points.join('') + String.fromCodePoint(next);
    }
  }
  return undefined;
}

function toEntry(doc: PublicationEntryDoc): PublicationEntry {
  return {
    path: doc.path,
    kind: doc.kind,
    sha256: doc.sha256 ?? null,
    size: doc.size ?? null,
    digests: doc.digests ?? {},
    urls: doc.urls ?? [],
    unitId: doc.unitId ?? null,
  };
}

function toRecord(doc: PublicationDoc): PublicationRecord {
  return {
    id: doc._id,
    repoId: doc.repoId,
    version: doc.version,
    publisherKey: doc.publisherKey,
    publisher: doc.publisher,
    options: JSON.parse(doc.options) as Record<string, unknown>,
    createdAt: doc.createdAt,
    complete: doc.complete,
    summary:
      doc.complete && doc.summary !== null
        ? {
            files: doc.summary.files,
            bytes: doc.summary.bytes,
            conflicts: doc.summary.conflicts,
            info: JSON.parse(doc.summary.info) as Record<string, unknown>,
            completedAt: doc.summary.completedAt,
          }
        : null,
  };
}
