/**
 * Entry of the thread that decompresses and parses primary.xml for {@link readPrimaryPackagesInThread}.
 * It posts the packages in batches and never runs more than `window` messages ahead of the reader.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isTributaryError } from '@tributary/plugin-api';
import type { PrimaryPackage } from './primary-package.js';
import { readPrimaryPackages } from './primary-package-reader.js';
import type { PrimaryThreadCredit, PrimaryThreadError, PrimaryThreadMessage, PrimaryThreadTask } from './primary-thread-protocol.js';

const port = parentPort!;
const task = workerData as PrimaryThreadTask;
let credits = task.window;
let wake: (() => void) | undefined;

port.on('message', (message: PrimaryThreadCredit) => {
  if (message.kind !== 'credit') return;
  credits++;
  wake?.();
  wake = undefined;
});

async function post(message: PrimaryThreadMessage): Promise<void> {
  while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
  credits--;
  port.postMessage(message);
}

function described(error: unknown): PrimaryThreadError {
  if (isTributaryError(error)) {
    return { name: error.name, message: error.message, code: error.code, ...(error.details ? { details: error.details } : {}), ...(error.stack ? { stack: error.stack } : {}) };
  }
  if (error instanceof Error) return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  return { name: 'Error', message: String(error) };
}

async function parse(): Promise<void> {
  let batch: PrimaryPackage[] = [];
  for await (const packages of readPrimaryPackages(task.file, { maxBytes: task.maxBytes })) {
    for (const p of packages) batch.push(p);
    if (batch.length >= task.batchSize) {
      await post({ kind: 'packages', packages: batch });
      batch = [];
    }
  }
  if (batch.length > 0) await post({ kind: 'packages', packages: batch });
  port.postMessage({ kind: 'end' } satisfies PrimaryThreadMessage);
}

parse().catch((error: unknown) => port.postMessage({ kind: 'error', error: described(error) } satisfies PrimaryThreadMessage));
