import { parentPort, workerData } from 'node:worker_threads';
import { errorData } from '@tributary/plugin-api';
import { SqliteContentStore, type SqliteContentStoreOptions } from '../sqlite-content-store.js';
import { CatalogDispatch } from './catalog-dispatch.js';
import type { WorkerReply, WorkerRequest } from './sqlite-worker-protocol.js';

/**
 * The thread that owns the embedded catalog for a {@link SqliteWorkerStore}: it runs each request
 * on its {@link SqliteContentStore} through a {@link CatalogDispatch}, one after another in arrival
 * order, and replies with the value or with the error as data (code, message, details, stack).
 * A store that began on the calling thread sends, before anything else, the work it left open
 * there (`adopt`).
 */
const { file, options } = workerData as { file: string; options: SqliteContentStoreOptions };
const port = parentPort!;
const dispatch = new CatalogDispatch(new SqliteContentStore(file, options), { readAhead: true });

port.on('message', (request: WorkerRequest) => {
  void handle(request).then((reply) => port.postMessage(reply));
});

async function handle(request: WorkerRequest): Promise<WorkerReply> {
  const { id } = request;
  try {
    if ('adopt' in request) {
      dispatch.store.adoptOpenWork(request.adopt);
      return { id, ok: true, value: undefined };
    }
    const value = await dispatch.serve(request.method, request.args);
    if (request.method === 'close') setImmediate(() => port.close());
    return { id, ok: true, value };
  } catch (error) {
    return { id, ok: false, error: errorData(error) };
  }
}
