import path from 'node:path';
import { ErrorCodes, TributaryError, type ErrorData } from '@tributary/plugin-api';
import { builtThreadScript } from '../../../thread-script.js';
import type { OpenWork } from '../sqlite-content-store.js';
import type { WorkerMethod } from './sqlite-worker-methods.js';

/** Messages between a {@link SqliteWorkerStore} and its catalog thread. */

export type WorkerRequest =
  | {
      readonly id: number;
      /** Which call, by its key in WORKER_METHODS; `args` are what its entry sends. */
      readonly method: WorkerMethod;
      readonly args: readonly unknown[];
    }
  /** The work a store that began on the calling thread left open there (see SqliteContentStore.handOver). */
  | { readonly id: number; readonly adopt: OpenWork };

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: ErrorData;
    };

/** The catalog thread's compiled entry (see {@link builtThreadScript}); without it the store cannot run. */
export function workerScript(): string {
  const script = builtThreadScript(__dirname, 'sqlite-store-worker.js');
  if (script !== undefined) return script;
  throw new TributaryError(ErrorCodes.STORE, `the catalog thread's script ${path.join(__dirname, 'sqlite-store-worker.js')} is missing: build the project (npm run build)`);
}
