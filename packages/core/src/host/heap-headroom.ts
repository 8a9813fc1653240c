import { changeV8Flag } from '@tributary/plugin-api';
import type { StoreSpec } from '../store/open-store.js';

/**
 * How far V8 lets a heap grow past its live data before the next full collection, in percent, for
 * a process that runs syncs (`--heap-growing-percent`; 100 means twice the live data).
 *
 * Left alone, V8 picks a factor of up to 4 when collections are quick, which they are for a sync:
 * its live data stays small while it allocates hundreds of megabytes of short-lived objects, so
 * peak RSS would grow with the repository; more full collections cost a few percent of the time
 * (figures in docs/performance.md).
 */
export const SYNC_HEAP_GROWING_PERCENT = 100;

/**
 * The same for a sync while it is small (the CLI's sync on the embedded catalog, until the catalog
 * moves to its thread). Its live heap is a few megabytes, but every download passes through
 * socket buffers and joined bodies, and at 100 they set off a full collection every few dozen
 * megabytes; at this headroom there are a third as many, for a few megabytes more.
 */
export const SMALL_SYNC_HEAP_GROWING_PERCENT = 300;

/**
 * The same for `tributary serve`. Its live heap is small and steady, while every on-demand fetch
 * passes its body through socket buffers that live outside the heap but count towards the next
 * full collection: at 100 they set one off every few dozen megabytes (docs/performance.md).
 */
export const SERVE_HEAP_GROWING_PERCENT = 400;

/**
 * Caps V8's heap headroom for the whole process (every thread) at {@link SYNC_HEAP_GROWING_PERCENT}
 * — what the `tributary` command does before it runs anything. An application embedding the host
 * may call it once at start-up too; a `--heap-growing-percent` the process was started with wins.
 */
export function limitHeapHeadroom(percent: number = SYNC_HEAP_GROWING_PERCENT): void {
  if (process.execArgv.some((arg) => arg.startsWith('--heap-growing-percent') || arg.startsWith('--heap_growing_percent'))) return;
  if (!Number.isSafeInteger(percent) || percent <= 0) throw new RangeError(`heap growing percent must be a positive integer, got ${percent}`);
  changeV8Flag('heap-growing-percent', `--heap-growing-percent=${percent}`, ['--heap-growing-percent=0']);
}

/**
 * A sync's catalog starts on the main thread and moves to its own once it has been busy this long
 * (SqliteWorkerStore's `threadAfterMs`): a sync that finds nothing new, or a small repository's,
 * makes a few dozen catalog calls, and starting the thread would cost more than all of them.
 */
export const SYNC_CATALOG_THREAD_AFTER_MS = 100;

/**
 * How `tributary sync` runs on the embedded catalog until the sync proves large: the catalog on the
 * main thread, and the heap headroom {@link SMALL_SYNC_HEAP_GROWING_PERCENT}, which lets the main
 * thread collect less often while its live heap is small. When the catalog moves to its thread,
 * the headroom drops to {@link SYNC_HEAP_GROWING_PERCENT}, which keeps a large sync's peak memory
 * flat. Returns the spec to open; any other store's spec is returned as it is, and the headroom
 * left alone. A `--heap-growing-percent` the process was started with wins (see {@link limitHeapHeadroom}).
 */
export function smallUntilProvenLarge(spec: StoreSpec): StoreSpec {
  if (!('sqlite' in spec) || typeof spec.sqlite !== 'string' || spec.inProcess === true) return spec;
  limitHeapHeadroom(SMALL_SYNC_HEAP_GROWING_PERCENT);
  return { ...spec, threadAfterMs: SYNC_CATALOG_THREAD_AFTER_MS, onThread: () => limitHeapHeadroom(SYNC_HEAP_GROWING_PERCENT) };
}
