import { mongodbDriver } from './mongodb-driver.js';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import type { SyncRecord, SyncRecordOutcome, SyncRecordStart } from '../content-store.js';
import type { CatalogCollections, SyncHistoryDoc } from './mongodb-documents.js';
import type { MongoRequests } from './mongodb-requests.js';

/** One record per sync of a repository. */
export class MongoSyncHistory {
  constructor(
    private readonly collections: CatalogCollections,
    private readonly requests: MongoRequests,
  ) {}

  async start(record: SyncRecordStart): Promise<string> {
    const doc: SyncHistoryDoc = {
      _id: new (mongodbDriver().ObjectId)(),
      repoId: record.repoId,
      importer: record.importer,
      settingsHash: record.settingsHash,
      version: record.version,
      startedAt: record.startedAt,
      status: 'running',
    };
    await this.requests.one(() => this.collections.history.insertOne(doc));
    return doc._id.toHexString();
  }

  async finish(id: string, outcome: SyncRecordOutcome): Promise<void> {
    const { ObjectId } = mongodbDriver();
    const objectId = ObjectId.isValid(id) && /^[0-9a-f]{24}$/i.test(id) ? new ObjectId(id) : undefined;
    const finished =
      objectId &&
      (await this.requests.one(() =>
        this.collections.history.updateOne(
          { _id: objectId },
          {
            $set: {
              status: outcome.status,
              finishedAt: outcome.finishedAt,
              report: outcome.report === null ? null : JSON.stringify(outcome.report),
              error: outcome.error === null ? null : JSON.stringify(outcome.error),
              fingerprint: outcome.fingerprint,
              resultVersion: outcome.resultVersion,
            },
          },
        ),
      ));
    if (!finished || finished.matchedCount === 0) {
      throw new TributaryError(ErrorCodes.STORE, `no sync record with id ${id} to finish`, { details: { id } });
    }
  }

  /** Newest first: by start time, then by creation order. */
  async list(repoId: string, limit?: number): Promise<SyncRecord[]> {
    // as SQLite's LIMIT: 0 gives no records and a negative limit none (MongoDB reads 0 as "no limit")
    if (limit === 0) return [];
    const cursor = this.collections.history.find({ repoId }, { sort: { startedAt: -1, _id: -1 } });
    if (limit !== undefined && limit > 0) cursor.limit(limit).batchSize(limit);
    return (await this.requests.all(cursor)).map(toRecord);
  }

  /** The newest successful sync decides, even when it recorded no fingerprint: an older one is stale. */
  async lastFingerprint(repoId: string, settingsHash: string): Promise<string | undefined> {
    const newest = await this.requests.one(() =>
      this.collections.history.findOne({ repoId, status: 'succeeded' }, { sort: { startedAt: -1, _id: -1 }, projection: { fingerprint: 1, settingsHash: 1 } }),
    );
    return newest?.settingsHash === settingsHash ? (newest.fingerprint ?? undefined) : undefined;
  }
}

function toRecord(doc: SyncHistoryDoc): SyncRecord {
  const start = {
    id: doc._id.toHexString(),
    repoId: doc.repoId,
    importer: doc.importer,
    settingsHash: doc.settingsHash,
    version: doc.version,
    startedAt: doc.startedAt,
    status: doc.status,
  };
  if (doc.status === 'running') return start;
  return {
    ...start,
    finishedAt: doc.finishedAt,
    report: doc.report == null ? null : JSON.parse(doc.report),
    error: doc.error == null ? null : JSON.parse(doc.error),
    fingerprint: doc.fingerprint ?? null,
    resultVersion: doc.resultVersion,
  };
}
