import { parentPort, workerData } from 'node:worker_threads';
import { errorData, type UnitOrigin } from '@tributary/plugin-api';
import type { AssociateRow } from '../content-store.js';
import { FingerprintReadAhead } from './fingerprint-read-ahead.js';
import { SqliteContentStore, unpackSources, type SqliteContentStoreOptions } from './sqlite-content-store.js';
import { WORKER_METHODS, type WorkerReply, type WorkerRequest } from './sqlite-worker-protocol.js';

/**
 * The thread that owns the embedded catalog for a {@link SqliteWorkerStore}: it runs each request
 * on its {@link SqliteContentStore}, one after another in arrival order, and replies with the value
 * or with the error as data (code, message, details, stack).
 */
const { file, options } = workerData as { file: string; options: SqliteContentStoreOptions };
const port = parentPort!;
const store = new SqliteContentStore(file, options);
const allowed = new Set<string>(WORKER_METHODS);
/** A re-sync's base version fingerprints and recorded sources, read ahead while the pipeline's thread is busy. */
const readAhead = new FingerprintReadAhead((...args) => store.fingerprintsPage(...args));
const sourcesAhead = new FingerprintReadAhead((repoId, version, _remote, after, limit) => store.sourcesPage(repoId, version, after, limit));
/** Calls answered otherwise than by the store's method of that name: units that travel as flat lists of strings (cloning thousands of small objects costs more), fingerprint pages read ahead. */
const flatCalls: Record<string, (...args: never[]) => unknown> = {
  fingerprintsPage: (...args: Parameters<SqliteContentStore['fingerprintsPage']>) => readAhead.page(...args),
  sourcesPage: (...[repoId, version, after, limit]: Parameters<SqliteContentStore['sourcesPage']>) => sourcesAhead.page(repoId, version, '', after, limit),
  associatePairs: (repoId: string, version: number, pairs: string[], origin: UnitOrigin, packed?: Float64Array) => {
    const sources = packed === undefined ? undefined : unpackSources(packed);
    const rows: AssociateRow[] = [];
    for (let i = 0; i < pairs.length; i += 2) {
      const source = sources?.[i / 2];
      rows.push(source === undefined ? { unitId: pairs[i]!, typeId: pairs[i + 1]! } : { unitId: pairs[i]!, typeId: pairs[i + 1]!, source });
    }
    return store.associate(repoId, version, rows, origin);
  },
};

port.on('message', (request: WorkerRequest) => {
  void handle(request).then((reply) => port.postMessage(reply));
});

async function handle({ id, method, args }: WorkerRequest): Promise<WorkerReply> {
  try {
    if (!allowed.has(method)) throw new Error(`unknown catalog method '${method}'`);
    if (method !== 'fingerprintsPage') readAhead.drop();
    if (method !== 'sourcesPage') sourcesAhead.drop();
    const target = (flatCalls[method] ?? (store as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!.bind(store)) as (
      ...a: unknown[]
    ) => unknown;
    const value = await target(...args);
    if (method === 'close') setImmediate(() => port.close());
    return { id, ok: true, value };
  } catch (error) {
    return { id, ok: false, error: errorData(error) };
  }
}
