import type { Worker, WorkerOptions } from 'node:worker_threads';

/**
 * V8 flags the process changed while running, by name: what sets each, and what puts it back to
 * V8's default.
 */
const changedFlags = new Map<string, { readonly set: string; readonly reset: readonly string[] }>();
/** Threads loading their code, and other work, that hold the flags at their defaults (see {@link startThread}). */
let defaultsHeld = 0;
/** How long a thread that posts nothing may hold the flags at their defaults (see {@link startThread}). */
const LOADING_MS = 250;

export interface StartThreadOptions extends WorkerOptions {
  /**
   * How long the flags may stay at their defaults for this thread if it posts no message: one
   * that waits to be asked before it answers. Default 250 ms, several times a thread's start.
   */
  readonly loadingMs?: number;
}

const setFlags = (flags: readonly string[]): void => {
  const { setFlagsFromString } = require('node:v8') as typeof import('node:v8');
  for (const flag of flags) setFlagsFromString(flag);
};

/**
 * Changes a V8 flag for the rest of the process (`set`, e.g. `--heap-growing-percent=100`), the
 * way {@link startThread} can undo while a thread starts: `reset` are the flags that put V8's
 * defaults back, including those `set` implies. Changing the same `name` again replaces it.
 * For the host, which tunes V8 for what a command does.
 */
export function changeV8Flag(name: string, set: string, reset: readonly string[]): void {
  changedFlags.set(name, { set, reset });
  if (defaultsHeld === 0) setFlags([set]);
}

/**
 * Starts a worker thread (`new Worker(script, options)`) that loads node's built-in modules from
 * the code cache in the node binary, as one started before any flag changed would.
 *
 * V8 refuses that cache once a flag has changed at run time (it is checked against a hash of the
 * flags), and each built-in is then compiled from source: about twice a thread's start-up CPU.
 * So the flags changed with {@link changeV8Flag} are put back to their defaults until the thread
 * first posts a message (or exits), by when it has loaded its modules, and set again
 * then, or after `options.loadingMs`. Meanwhile they are V8's defaults for every thread.
 */
export function startThread(script: string | URL, options: StartThreadOptions = {}): Worker {
  const { Worker: WorkerClass } = require('node:worker_threads') as typeof import('node:worker_threads');
  const { loadingMs = LOADING_MS, ...workerOptions } = options;
  if (changedFlags.size === 0) return new WorkerClass(script, workerOptions);
  holdDefaults();
  let worker: Worker;
  try {
    worker = new WorkerClass(script, workerOptions);
  } catch (error) {
    releaseDefaults();
    throw error;
  }
  let done = false;
  const settle = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    worker.off('message', settle).off('exit', settle);
    releaseDefaults();
  };
  const timer = setTimeout(settle, loadingMs);
  timer.unref();
  // not 'error': a listener would keep an error nobody else listens for from being thrown; 'exit' follows it
  worker.on('message', settle).on('exit', settle);
  return worker;
}

/**
 * Runs `fn` with the flags changed with {@link changeV8Flag} at V8's defaults, and sets them again
 * after it: for work whose result V8 checks against its flags, such as code cache data made for
 * code compiled before they changed.
 */
export function withDefaultV8Flags<T>(fn: () => T): T {
  if (changedFlags.size === 0) return fn();
  holdDefaults();
  try {
    return fn();
  } finally {
    releaseDefaults();
  }
}

function holdDefaults(): void {
  if (defaultsHeld++ === 0) setFlags([...changedFlags.values()].flatMap((flag) => flag.reset));
}

function releaseDefaults(): void {
  if (--defaultsHeld === 0) setFlags([...changedFlags.values()].map((flag) => flag.set));
}
