import type { AbstractCursor, AnyBulkWriteOperation, Collection, Document } from 'mongodb';
import { mongodbDriver } from './mongodb-driver.js';
import type { StoreStats } from '../content-store.js';

/** MongoDB's duplicate-key error code. */
export const DUPLICATE_KEY = 11000;

/** The driver sends at most this many writes in one command (MongoDB's maxWriteBatchSize). */
const MAX_WRITE_BATCH = 100_000;

/**
 * At most this many update statements go in one command. FerretDB 1.x keeps the cursor of every
 * statement of an `update` command that matched a document open until the command ends, from a pool
 * of 100 connections per database, and an update command of about 100 such statements never
 * returns. Batches of updates with one value per document are therefore sent 50 at a time; the
 * sync's frequent updates use one `updateMany` per chunk of ids instead, which is one statement.
 */
const UPDATES_PER_COMMAND = 50;

/**
 * Every request the MongoDB store sends, counted in `stats.roundTrips`: one per command, one per
 * cursor batch, one per chunk of a large `$in` lookup.
 */
export class MongoRequests {
  constructor(
    private readonly stats: StoreStats,
    /** Ids per `$in` lookup: bounds the size of one query document. */
    readonly chunkSize: number,
  ) {}

  /** One command. */
  async one<T>(command: () => Promise<T>): Promise<T> {
    this.stats.roundTrips++;
    return command();
  }

  /** Drains a cursor, counting each batch fetched (the first one and every getMore). */
  async all<T>(cursor: AbstractCursor<T>): Promise<T[]> {
    const documents: T[] = [];
    for await (const batch of this.batches(cursor)) documents.push(...batch);
    return documents;
  }

  /** Yields a cursor's batches as they arrive, counting each fetch; closes the cursor when left. */
  async *batches<T>(cursor: AbstractCursor<T>): AsyncIterable<T[]> {
    try {
      for (;;) {
        if (cursor.closed && cursor.bufferedCount() === 0) return;
        this.stats.roundTrips++;
        if (!(await cursor.hasNext())) return;
        yield cursor.readBufferedDocuments();
      }
    } finally {
      await cursor.close().catch(() => undefined);
    }
  }

  /** Runs `query` on each chunk of `values` (deduplicated) and concatenates the results. */
  async allIn<V, T>(values: Iterable<V>, query: (chunk: V[]) => AbstractCursor<T>): Promise<T[]> {
    const results: T[] = [];
    for (const chunk of chunks([...new Set(values)], this.chunkSize)) {
      results.push(...(await this.all(query(chunk))));
    }
    return results;
  }

  /**
   * Unordered bulk writes: the driver sends one command per kind of operation (inserts, updates,
   * deletes), updates at most {@link UPDATES_PER_COMMAND} to a command.
   *
   * New documents are inserted rather than upserted: FerretDB runs an upsert as a query and an
   * insert, much slower than its batched inserts. An insert refused with a duplicate key (another
   * host created the document first, or this request is being repeated) is replaced by what
   * `onDuplicate` returns for it (nothing: the existing document is right as it is), sent after.
   */
  async bulk<T extends Document>(
    collection: Collection<T>,
    operations: readonly AnyBulkWriteOperation<T>[],
    onDuplicate?: (document: T) => AnyBulkWriteOperation<T>[],
  ): Promise<void> {
    const replacements: AnyBulkWriteOperation<T>[] = [];
    for (const batch of commandBatches(operations)) {
      this.stats.roundTrips += commandsFor(batch);
      try {
        await collection.bulkWrite(batch, { ordered: false });
      } catch (error) {
        if (!(error instanceof mongodbDriver().MongoBulkWriteError) || onDuplicate === undefined) throw error;
        const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
        for (const writeError of writeErrors) {
          const operation = batch[writeError.index];
          if (writeError.code !== DUPLICATE_KEY || operation === undefined || !('insertOne' in operation)) throw error;
          replacements.push(...onDuplicate(operation.insertOne.document as T));
        }
      }
    }
    if (replacements.length > 0) await this.bulk(collection, replacements);
  }

  /** Several writes that must run in this order (one command per run of the same kind). */
  async ordered<T extends Document>(collection: Collection<T>, operations: AnyBulkWriteOperation<T>[]): Promise<void> {
    if (operations.length === 0) return;
    let runs = 0;
    let previous: string | undefined;
    for (const operation of operations) {
      const kind = commandKind(operation);
      if (kind !== previous) runs++;
      previous = kind;
    }
    this.stats.roundTrips += runs;
    await collection.bulkWrite(operations, { ordered: true });
  }
}

/**
 * The batch size for a query expected to return at most `expected` documents: one more, so the
 * first reply already tells the cursor is exhausted and no getMore round trip follows. (Replies
 * stay within 16 MiB whatever the batch size.)
 */
export function batchFor(expected: number): number {
  return expected + 1;
}

export function isDuplicateKey(error: unknown): boolean {
  return error instanceof mongodbDriver().MongoServerError && error.code === DUPLICATE_KEY;
}

function commandKind(operation: object): 'insert' | 'update' | 'delete' {
  if ('insertOne' in operation) return 'insert';
  if ('deleteOne' in operation || 'deleteMany' in operation) return 'delete';
  return 'update';
}

/** Splits a bulk so that no command carries more than {@link UPDATES_PER_COMMAND} updates. */
function commandBatches<O extends object>(operations: readonly O[]): O[][] {
  const updates = operations.filter((operation) => commandKind(operation) === 'update');
  if (updates.length <= UPDATES_PER_COMMAND) return operations.length === 0 ? [] : [[...operations]];
  const batches = [...chunks(updates, UPDATES_PER_COMMAND)];
  batches[0]!.push(...operations.filter((operation) => commandKind(operation) !== 'update'));
  return batches;
}

function commandsFor(operations: readonly object[]): number {
  const perKind = new Map<string, number>();
  for (const operation of operations) {
    const kind = commandKind(operation);
    perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
  }
  let commands = 0;
  for (const count of perKind.values()) commands += Math.ceil(count / MAX_WRITE_BATCH);
  return commands;
}

export function* chunks<T>(values: readonly T[], size: number): Iterable<T[]> {
  for (let start = 0; start < values.length; start += size) yield values.slice(start, start + size);
}
