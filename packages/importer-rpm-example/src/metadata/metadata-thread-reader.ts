import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { ErrorCodes, errorFromData, startThread, TributaryError } from '@tributary/plugin-api';
import type { MetadataFile, ReadMetadataOptions } from './metadata-file.js';
import { readMetadataItems } from './metadata-items.js';
import type {
  MetadataThreadCredit,
  MetadataThreadKind,
  MetadataThreadMessage,
  MetadataThreadStart,
  MetadataThreadStop,
  MetadataThreadTask,
} from './metadata-thread-protocol.js';
import { unpackNevras } from './nevra-batch.js';
import type { PackageDetailsFiles } from './package-details-reader.js';
import { unpackEntries, type PackageEntry } from './package-entry.js';
import type { Nevra, PrimaryPackage } from './primary-package.js';
import type { Advisory } from './updateinfo-advisory.js';

export interface MetadataThreadOptions extends ReadMetadataOptions {
  /** Items (packages, advisories) per batch, at least; the last batch may hold fewer. Default 256. */
  readonly batchSize?: number;
  /** Batches the thread may parse ahead of the consumer. Default 4. */
  readonly window?: number;
  /** A thread started earlier ({@link startMetadataThread}) to use instead of starting one. */
  readonly thread?: StartedMetadataThread;
  /** `primary-entries`: filelists and other, read on the same thread along with primary. */
  readonly details?: PackageDetailsFiles;
  /** Parse on the calling thread, starting no thread (a small file: see rpm-first-stage.ts). */
  readonly here?: boolean;
}

/**
 * How long a parsing thread asked to stop may take to end before it is terminated. It ends within
 * one decompressed chunk's parse; only a thread that is stuck waits this long.
 */
const STOP_GRACE_MS = 10_000;

/** A parsing thread started before its file is there; a reader takes it, or `stop()` ends it. */
export interface StartedMetadataThread {
  /**
   * The worker, a promise of its end, and an error it raised or its exit code if it stopped
   * before a reader took it; undefined once taken.
   */
  take(): { worker: Worker; exited: Promise<void>; earlyError: Error | undefined; exitCode: number | undefined } | undefined;
  /** Ends the thread unless a reader took it. */
  stop(): Promise<void>;
}

/**
 * Starts a parsing thread now, for a file still being fetched: it loads its code meanwhile
 * (tens of milliseconds a sync would otherwise wait for) and a reader given it as
 * `options.thread` hands it the file. Undefined without the thread's script.
 */
export function startMetadataThread(script: string | undefined = threadScript()): StartedMetadataThread | undefined {
  if (script === undefined) return undefined;
  const worker = startThread(script, { workerData: null });
  const exited = exitOf(worker);
  let earlyError: Error | undefined;
  let exitCode: number | undefined;
  const noteError = (error: Error) => (earlyError ??= error);
  const noteExit = (code: number) => (exitCode = code);
  worker.on('error', noteError);
  worker.on('exit', noteExit);
  let taken = false;
  return {
    take() {
      if (taken) return undefined;
      taken = true;
      worker.off('error', noteError);
      worker.off('exit', noteExit);
      return { worker, exited, earlyError, exitCode };
    },
    async stop() {
      if (taken) return;
      taken = true;
      await endThread(worker, exited);
    },
  };
}

/**
 * The packages of a primary.xml file, as {@link readPrimaryPackages} reads them, but decompressed
 * and parsed on a thread of their own, so a sync's pipeline (which runs on the caller's thread)
 * works on one batch while the next is parsed. Parsing is most of an rpm sync's work on its own
 * thread: ~50 µs a package, against ~11 µs to receive one parsed. See {@link readInThread}.
 */
export function readPrimaryPackagesInThread(file: MetadataFile, options: MetadataThreadOptions): AsyncGenerator<PrimaryPackage[]> {
  return readInThread<PrimaryPackage>('primary', file, options);
}

/**
 * primary.xml's packages as the first stage takes them ({@link PackageEntry}: the unit metadata
 * already JSON text), built on the parsing thread, with filelists' and other's details when
 * `options.details` names them (read on the same thread). See {@link readInThread}.
 */
export function readPackageEntriesInThread(file: MetadataFile, options: MetadataThreadOptions): AsyncGenerator<PackageEntry[]> {
  return readInThread<PackageEntry>('primary-entries', file, options);
}

/**
 * The NEVRAs of primary.xml's packages, and nothing else of them: what the first pass of
 * `retainPackageVersions` needs, parsed on a thread of their own. See {@link readInThread}.
 */
export function readPackageNevrasInThread(file: MetadataFile, options: MetadataThreadOptions): AsyncGenerator<Nevra[]> {
  return readInThread<Nevra>('primary-nevras', file, options);
}

/** The advisories of an updateinfo.xml file (see `advisoryOf`), read on a thread of their own. See {@link readInThread}. */
export function readAdvisoriesInThread(file: MetadataFile, options: MetadataThreadOptions): AsyncGenerator<Advisory[]> {
  return readInThread<Advisory>('updateinfo', file, options);
}

/**
 * What a metadata file holds, read on a thread of its own and received in batches. Memory stays
 * bounded: the thread posts at most `window` batches ahead of the consumer. Errors keep their
 * TRIBUTARY_ERR_* code, message and details; warnings reach `options.onWarning` at the end.
 * Aborting `signal`, or leaving the loop early, stops the thread. Without the thread's script (an importer bundled into one file) the file is read on
 * the calling thread instead.
 */
export async function* readInThread<T>(
  kind: MetadataThreadKind,
  file: MetadataFile,
  options: MetadataThreadOptions,
  script: string | undefined = threadScript(),
): AsyncGenerator<T[]> {
  const { signal } = options;
  signal?.throwIfAborted();
  const started = options.here ? undefined : options.thread?.take();
  if (options.here || (script === undefined && started === undefined)) {
    // a small file, or bundled into one file: parse here, the same items
    yield* readMetadataItems(kind, file, options) as AsyncGenerator<T[]>;
    return;
  }
  const task: MetadataThreadTask = { kind, file, maxBytes: options.maxBytes, batchSize: options.batchSize ?? 256, window: options.window ?? 4, ...(options.details ? { details: options.details } : {}) };
  const worker = started?.worker ?? startThread(script!, { workerData: task });
  const exited = started?.exited ?? exitOf(worker);
  if (started) worker.postMessage({ kind: 'task', task } satisfies MetadataThreadStart);
  const inbox: MetadataThreadMessage[] = [];
  let failure: Error | undefined =
    started?.earlyError ??
    (started?.exitCode !== undefined
      ? new TributaryError(ErrorCodes.PLUGIN_MISBEHAVED, `${kind} metadata ${file.href}: the parsing thread stopped (exit code ${started.exitCode}) before it was given the file`)
      : undefined);
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  worker.on('message', (message: MetadataThreadMessage) => {
    inbox.push(message);
    notify();
  });
  worker.on('error', (error) => {
    failure ??= error;
    notify();
  });
  const onExit = (code: number): void => {
    failure ??= new TributaryError(ErrorCodes.PLUGIN_MISBEHAVED, `${kind} metadata ${file.href}: the parsing thread stopped (exit code ${code}) before the end of the file`);
    notify();
  };
  worker.on('exit', onExit);
  signal?.addEventListener('abort', notify);
  try {
    for (;;) {
      while (inbox.length === 0 && failure === undefined && !signal?.aborted) await new Promise<void>((resolve) => (wake = resolve));
      signal?.throwIfAborted();
      const message = inbox.shift();
      if (message === undefined) throw failure!;
      if (message.kind === 'end') {
        for (const warning of message.warnings) options.onWarning?.(warning);
        return;
      }
      if (message.kind === 'error') throw errorFromData(message.error);
      worker.postMessage({ kind: 'credit' } satisfies MetadataThreadCredit);
      yield unpacked(kind, message.items) as T[];
    }
  } finally {
    signal?.removeEventListener('abort', notify);
    worker.off('exit', onExit);
    await endThread(worker, exited);
  }
}

/** A batch as the parsing thread posted it, made items again (see metadata-parse-thread.ts). */
function unpacked(kind: MetadataThreadKind, items: unknown[]): unknown[] {
  if (kind === 'primary-entries') return unpackEntries(items as (string | number | null)[]);
  if (kind === 'primary-nevras') return unpackNevras(items as string[]);
  return items;
}

function exitOf(worker: Worker): Promise<void> {
  return new Promise((resolve) => worker.once('exit', () => resolve()));
}

/**
 * Asks a parsing thread to end and waits until it has. Not `terminate()` at once: terminating a
 * thread while lzma-native loads or works aborts the whole process (see metadata-parse-thread.ts);
 * a thread that has not ended after STOP_GRACE_MS is terminated anyway.
 */
async function endThread(worker: Worker, exited: Promise<void>): Promise<void> {
  worker.postMessage({ kind: 'stop' } satisfies MetadataThreadStop);
  const timer = setTimeout(() => void worker.terminate(), STOP_GRACE_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The compiled thread entry, if there is one: beside this file, or (tests run this file from
 * source) in the build. Undefined when the importer was bundled without it.
 */
function threadScript(): string | undefined {
  const beside = path.join(__dirname, 'metadata-parse-thread.js');
  if (existsSync(beside)) return beside;
  const built = beside.replace(`${path.sep}src${path.sep}`, `${path.sep}dist${path.sep}`);
  return existsSync(built) ? built : undefined;
}
