import path from 'node:path';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import type { ContentStore } from './content-store.js';

// Each kind of store is loaded when one is opened: a command on the embedded catalog loads neither
// the MongoDB store's modules nor, when the catalog runs on its own thread, the SQLite store's.
const mongodbStore = () => require('./mongodb/mongodb-content-store.js') as typeof import('./mongodb/mongodb-content-store.js');
const sqliteStore = () => require('./sqlite/sqlite-content-store.js') as typeof import('./sqlite/sqlite-content-store.js');
const sqliteWorkerStore = () => require('./sqlite/sqlite-worker-store.js') as typeof import('./sqlite/sqlite-worker-store.js');

/** Which catalog a host uses: the embedded SQLite file, a MongoDB deployment, or a store object. */
export type StoreSpec =
  | {
      sqlite: string;
      /** Run the catalog on the calling thread instead of its own (default false). */
      inProcess?: boolean;
      /**
       * Start the catalog on the calling thread and move it to its own once its calls have taken
       * this many ms there (default: on its own thread from the start; see SqliteWorkerStore).
       */
      threadAfterMs?: number;
      /** With `threadAfterMs`: called once the catalog has moved to its thread. */
      onThread?: () => void;
      /**
       * SQLite page cache in MiB (default 16): how much of the catalog file the store keeps in its
       * own memory (the OS caches the rest). More did not make a forced re-sync of a 200,000-unit
       * repository cheaper; a catalog of millions of units may differ.
       */
      cacheMiB?: number;
      /** How long a write waits for another process's write lock, in ms (default 5000). */
      busyTimeoutMs?: number;
    }
  | { mongodb: string; database?: string }
  | ContentStore;

const INIT_ATTEMPTS = 3;

/**
 * Opens (and initialises) the store a spec names. A MongoDB store whose start-up fails (several
 * hosts creating the same catalog at once can see a dropped connection) is closed and tried again
 * twice; a store that cannot start is always closed, so no connection keeps the process alive.
 */
export async function openStore(spec: StoreSpec): Promise<ContentStore> {
  for (let attempt = 1; ; attempt++) {
    let store: ContentStore;
    if ('sqlite' in spec && typeof spec.sqlite === 'string') {
      checkIntegerInRange(spec.cacheMiB, 'cacheMiB', 1, 1 << 20);
      checkIntegerInRange(spec.busyTimeoutMs, 'busyTimeoutMs', 0, 24 * 3600 * 1000);
      if (spec.threadAfterMs !== undefined && !(spec.threadAfterMs >= 0)) {
        throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `the SQLite store's threadAfterMs must be a number of milliseconds, not ${String(spec.threadAfterMs)}`, {
          details: { threadAfterMs: spec.threadAfterMs },
        });
      }
      const options = {
        ...(spec.cacheMiB !== undefined ? { cacheMiB: spec.cacheMiB } : {}),
        ...(spec.busyTimeoutMs !== undefined ? { busyTimeoutMs: spec.busyTimeoutMs } : {}),
      };
      store =
        spec.inProcess === true
          ? new (sqliteStore().SqliteContentStore)(spec.sqlite, options)
          : new (sqliteWorkerStore().SqliteWorkerStore)(spec.sqlite, {
              ...options,
              ...(spec.threadAfterMs !== undefined ? { threadAfterMs: spec.threadAfterMs } : {}),
              ...(spec.onThread !== undefined ? { onThread: spec.onThread } : {}),
            });
    }
    else if ('mongodb' in spec && typeof spec.mongodb === 'string') store = new (mongodbStore().MongoContentStore)(spec.mongodb, spec.database ? { database: spec.database } : {});
    else store = spec as ContentStore;
    try {
      await store.init();
      return store;
    } catch (error) {
      await store.close().catch(() => undefined);
      if (!('mongodb' in spec) || attempt >= INIT_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt + Math.random() * 200));
    }
  }
}

/**
 * Reads a `--store` value: `mongodb://…` / `mongodb+srv://…`, `sqlite:PATH` / `sqlite://PATH`, or a
 * plain file path (SQLite).
 */
export function parseStoreUri(uri: string): StoreSpec {
  if (/^mongodb(\+srv)?:\/\//.test(uri)) return { mongodb: uri };
  if (uri.startsWith('sqlite://')) return { sqlite: path.resolve(uri.slice('sqlite://'.length)) };
  if (uri.startsWith('sqlite:')) return { sqlite: path.resolve(uri.slice('sqlite:'.length)) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `--store ${JSON.stringify(uri.replace(/\/\/[^@/]*@/, '//'))} is not supported: use mongodb://…, sqlite:PATH or a file path`);
  }
  return { sqlite: path.resolve(uri) };
}

function checkIntegerInRange(value: number | undefined, name: string, min: number, max: number): void {
  if (value === undefined) return;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `the SQLite store's ${name} must be an integer from ${min} to ${max}, not ${String(value)}`, {
      details: { [name]: value },
    });
  }
}
