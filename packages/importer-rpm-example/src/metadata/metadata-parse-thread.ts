/**
 * Entry of a thread that decompresses and parses one metadata file for {@link readInThread}
 * (metadata-thread-reader.ts). It posts what it read in batches and never runs more than `window`
 * messages ahead of the reader.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isTributaryError } from '@tributary/plugin-api';
import { readMetadataItems } from './metadata-items.js';
import type { MetadataThreadCredit, MetadataThreadError, MetadataThreadMessage, MetadataThreadTask } from './metadata-thread-protocol.js';

const port = parentPort!;
const task = workerData as MetadataThreadTask;
let credits = task.window;
let wake: (() => void) | undefined;

port.on('message', (message: MetadataThreadCredit) => {
  if (message.kind !== 'credit') return;
  credits++;
  wake?.();
  wake = undefined;
});

async function post(message: MetadataThreadMessage): Promise<void> {
  while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
  credits--;
  port.postMessage(message);
}

function described(error: unknown): MetadataThreadError {
  if (isTributaryError(error)) {
    return { name: error.name, message: error.message, code: error.code, ...(error.details ? { details: error.details } : {}), ...(error.stack ? { stack: error.stack } : {}) };
  }
  if (error instanceof Error) return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  return { name: 'Error', message: String(error) };
}

async function parse(): Promise<void> {
  let batch: unknown[] = [];
  for await (const items of readMetadataItems(task.kind, task.file, { maxBytes: task.maxBytes })) {
    for (const item of items) batch.push(item);
    if (batch.length >= task.batchSize) {
      await post({ kind: 'items', items: batch });
      batch = [];
    }
  }
  if (batch.length > 0) await post({ kind: 'items', items: batch });
  port.postMessage({ kind: 'end' } satisfies MetadataThreadMessage);
}

parse().catch((error: unknown) => {
  const failure = described(error);
  try {
    port.postMessage({ kind: 'error', error: failure } satisfies MetadataThreadMessage);
  } catch {
    // details that cannot be cloned: the code and message still can
    const { details: _details, ...rest } = failure;
    port.postMessage({ kind: 'error', error: rest } satisfies MetadataThreadMessage);
  }
});
