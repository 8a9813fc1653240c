/**
 * Entry of a thread that decompresses and parses one metadata file for {@link readInThread}
 * (metadata-thread-reader.ts). It posts what it read in batches and never runs more than `window`
 * messages ahead of the reader. Its task comes as workerData, or, for a thread started before its
 * file was fetched (startMetadataThread), as the first message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorData } from '@tributary/plugin-api';
import { readMetadataItems } from './metadata-items.js';
import { packEntries, type PackageEntry } from './package-entry.js';
import type { MetadataThreadCredit, MetadataThreadMessage, MetadataThreadStart, MetadataThreadTask } from './metadata-thread-protocol.js';

const port = parentPort!;
let credits = 0;
let wake: (() => void) | undefined;

port.on('message', (message: MetadataThreadCredit | MetadataThreadStart) => {
  if (message.kind === 'task') {
    start(message.task);
    return;
  }
  if (message.kind !== 'credit') return;
  credits++;
  wake?.();
  wake = undefined;
});

const given = workerData as MetadataThreadTask | null;
if (given) start(given);

async function post(message: MetadataThreadMessage): Promise<void> {
  while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
  credits--;
  port.postMessage(message);
}

async function parse(task: MetadataThreadTask): Promise<void> {
  // package entries cross as one flat list per batch (see packEntries)
  const items = (batch: unknown[]): unknown[] => (task.kind === 'primary-entries' ? packEntries(batch as PackageEntry[]) : batch);
  let batch: unknown[] = [];
  for await (const read of readMetadataItems(task.kind, task.file, { maxBytes: task.maxBytes })) {
    for (const item of read) batch.push(item);
    if (batch.length >= task.batchSize) {
      await post({ kind: 'items', items: items(batch) });
      batch = [];
    }
  }
  if (batch.length > 0) await post({ kind: 'items', items: items(batch) });
  port.postMessage({ kind: 'end' } satisfies MetadataThreadMessage);
}

function start(task: MetadataThreadTask): void {
  credits = task.window;
  parse(task).catch((error: unknown) => {
    const failure = errorData(error);
    try {
      port.postMessage({ kind: 'error', error: failure } satisfies MetadataThreadMessage);
    } catch {
      // details that cannot be cloned: the code and message still can
      const { details: _details, ...rest } = failure;
      port.postMessage({ kind: 'error', error: rest } satisfies MetadataThreadMessage);
    }
  });
}
