/**
 * Entry of a thread that decompresses and parses one metadata file for {@link readInThread}
 * (metadata-thread-reader.ts). It posts what it read in batches and never runs more than `window`
 * messages ahead of the reader. Its task comes as workerData, or, for a thread started before its
 * file was fetched (startMetadataThread), as the first message.
 *
 * The reader ends it with a `stop` message, never `worker.terminate()`: the thread stops reading,
 * closes its port and ends when its event loop is empty, which is after any native work in flight.
 * lzma-native (xz) calls back into JavaScript when its work completes, and while it loads; in a
 * thread being terminated that call fails, node-addon-api throws a C++ exception nothing catches,
 * and the whole process aborts ("terminate called after throwing an instance of 'Napi::Error'").
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorData } from '@tributary/plugin-api';
import { readMetadataItems } from './metadata-items.js';
import { packNevras } from './nevra-batch.js';
import { packEntries, type PackageEntry } from './package-entry.js';
import type { Nevra } from './primary-package.js';
import type {
  MetadataThreadCredit,
  MetadataThreadMessage,
  MetadataThreadStart,
  MetadataThreadStop,
  MetadataThreadTask,
} from './metadata-thread-protocol.js';

const port = parentPort!;
let credits = 0;
let wake: (() => void) | undefined;
const stopping = new AbortController();
let parsing: Promise<void> | undefined;

port.on('message', (message: MetadataThreadCredit | MetadataThreadStart | MetadataThreadStop) => {
  if (message.kind === 'stop') {
    stop();
    return;
  }
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

/** Stops reading; the port closes once the read has unwound, and then the thread ends. */
function stop(): void {
  if (stopping.signal.aborted) return;
  stopping.abort(new Error('the reader stopped the thread'));
  wake?.();
  wake = undefined;
  void (parsing ?? Promise.resolve()).finally(() => port.close());
}

async function post(message: MetadataThreadMessage): Promise<void> {
  while (credits === 0) {
    stopping.signal.throwIfAborted();
    await new Promise<void>((resolve) => (wake = resolve));
  }
  stopping.signal.throwIfAborted();
  credits--;
  port.postMessage(message);
}

async function parse(task: MetadataThreadTask): Promise<void> {
  // package entries and NEVRAs cross as one flat list per batch (see packEntries)
  const items = (batch: unknown[]): unknown[] => {
    if (task.kind === 'primary-entries') return packEntries(batch as PackageEntry[]);
    if (task.kind === 'primary-nevras') return packNevras(batch as Nevra[]);
    return batch;
  };
  let batch: unknown[] = [];
  const warnings: string[] = [];
  const onWarning = (message: string) => void warnings.push(message);
  for await (const read of readMetadataItems(task.kind, task.file, { maxBytes: task.maxBytes, signal: stopping.signal, onWarning, ...(task.details ? { details: task.details } : {}) })) {
    for (const item of read) batch.push(item);
    if (batch.length >= task.batchSize) {
      await post({ kind: 'items', items: items(batch) });
      batch = [];
    }
  }
  if (batch.length > 0) await post({ kind: 'items', items: items(batch) });
  port.postMessage({ kind: 'end', warnings } satisfies MetadataThreadMessage);
}

function start(task: MetadataThreadTask): void {
  if (stopping.signal.aborted || parsing) return;
  credits = task.window;
  parsing = parse(task).catch((error: unknown) => {
    if (stopping.signal.aborted) return;
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
