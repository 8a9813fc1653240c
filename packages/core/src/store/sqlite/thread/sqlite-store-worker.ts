import { parentPort, workerData } from 'node:worker_threads';
import { errorData } from '@tributary/plugin-api';
import { SqliteContentStore, type SqliteContentStoreOptions } from '../sqlite-content-store.js';
import { FingerprintReadAhead } from './fingerprint-read-ahead.js';
import type { WorkerReply, WorkerRequest } from './sqlite-worker-protocol.js';
import { WORKER_METHODS, type PageReaders, type WorkerMethod } from './sqlite-worker-methods.js';

/**
 * The thread that owns the embedded catalog for a {@link SqliteWorkerStore}: it runs each request
 * on its {@link SqliteContentStore} as {@link WORKER_METHODS} says, one after another in arrival
 * order, and replies with the value or with the error as data (code, message, details, stack).
 */
const { file, options } = workerData as { file: string; options: SqliteContentStoreOptions };
const port = parentPort!;
const store = new SqliteContentStore(file, options);
/** A re-sync's base version fingerprints and recorded sources, read ahead while the pipeline's thread is busy. */
const readAhead = new FingerprintReadAhead((...args) => store.fingerprintsPage(...args));
const sourcesAhead = new FingerprintReadAhead((repoId, version, _remote, after, limit) => store.sourcesPage(repoId, version, after, limit));
/** The pages the streams are read by: the catalog's, fingerprints and sources read ahead. */
const pages: PageReaders = {
  unitKeysPage: (...args) => store.unitKeysPage(...args),
  unitsPage: (...args) => store.unitsPage(...args),
  unitsPageJson: (...args) => store.unitsPageJson(...args),
  fingerprintsPage: (...args) => readAhead.page(...args),
  sourcesPage: (repoId, version, after, limit) => sourcesAhead.page(repoId, version, '', after, limit),
  diffPage: (...args) => store.diffPage(...args),
  catalogUnitsPage: (...args) => store.catalogUnitsPage(...args),
};
/** The table, seen from here: each entry's arguments are whatever its caller's side sent. */
type Served = { readonly kind: 'plain' | 'byHand' } | { readonly kind: 'paged'; readonly page: keyof PageReaders } | Serving;
interface Serving {
  readonly kind: 'encoded';
  readonly serve: (catalog: SqliteContentStore, ...wire: never[]) => unknown;
}
type Call = (...args: readonly unknown[]) => unknown;

port.on('message', (request: WorkerRequest) => {
  void handle(request).then((reply) => port.postMessage(reply));
});

async function handle({ id, method, args }: WorkerRequest): Promise<WorkerReply> {
  try {
    const entry: Served | undefined = Object.hasOwn(WORKER_METHODS, method) ? WORKER_METHODS[method] : undefined;
    if (entry === undefined) throw new Error(`unknown catalog method '${method}'`);
    if (method !== 'repoUnitFingerprints') readAhead.drop();
    if (method !== 'repoUnitSources') sourcesAhead.drop();
    const value = await serve(method, entry, args);
    if (method === 'close') setImmediate(() => port.close());
    return { id, ok: true, value };
  } catch (error) {
    return { id, ok: false, error: errorData(error) };
  }
}

function serve(method: WorkerMethod, entry: Served, args: readonly unknown[]): unknown {
  switch (entry.kind) {
    case 'encoded':
      return (entry.serve as (catalog: SqliteContentStore, ...wire: readonly unknown[]) => unknown)(store, ...args);
    case 'paged':
      return (pages[entry.page] as Call)(...args);
    default:
      return (store[method as keyof SqliteContentStore] as Call).call(store, ...args);
  }
}
