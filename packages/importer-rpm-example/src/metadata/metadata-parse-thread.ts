/**
 * Entry of a thread that decompresses and parses one metadata file for {@link readInThread}
 * (metadata-thread-reader.ts). It posts what it read in batches and never runs more than `window`
 * messages ahead of the reader.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorData } from '@tributary/plugin-api';
import { readMetadataItems } from './metadata-items.js';
import type { MetadataThreadCredit, MetadataThreadMessage, MetadataThreadTask } from './metadata-thread-protocol.js';

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
  const failure = errorData(error);
  try {
    port.postMessage({ kind: 'error', error: failure } satisfies MetadataThreadMessage);
  } catch {
    // details that cannot be cloned: the code and message still can
    const { details: _details, ...rest } = failure;
    port.postMessage({ kind: 'error', error: rest } satisfies MetadataThreadMessage);
  }
});
