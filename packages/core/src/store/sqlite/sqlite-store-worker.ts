import { parentPort, workerData } from 'node:worker_threads';
import { isTributaryError } from '@tributary/plugin-api';
import { SqliteContentStore, type SqliteContentStoreOptions } from './sqlite-content-store.js';
import { WORKER_METHODS, type WorkerReply, type WorkerRequest } from './sqlite-worker-protocol.js';

/**
 * The thread that owns the embedded catalog for a {@link SqliteWorkerStore}: it runs each request
 * on its {@link SqliteContentStore}, one after another in arrival order, and replies with the value
 * or with the error's code, message and details.
 */
const { file, options } = workerData as { file: string; options: SqliteContentStoreOptions };
const port = parentPort!;
const store = new SqliteContentStore(file, options);
const allowed = new Set<string>(WORKER_METHODS);

port.on('message', (request: WorkerRequest) => {
  void handle(request).then((reply) => port.postMessage(reply));
});

async function handle({ id, method, args }: WorkerRequest): Promise<WorkerReply> {
  try {
    if (!allowed.has(method)) throw new Error(`unknown catalog method '${method}'`);
    const value = await (store as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!(...args);
    if (method === 'close') setImmediate(() => port.close());
    return { id, ok: true, value };
  } catch (error) {
    if (isTributaryError(error)) {
      return { id, ok: false, error: { code: error.code, message: error.message, details: error.details } };
    }
    return { id, ok: false, error: { message: error instanceof Error ? error.message : String(error) } };
  }
}
