import { cachedDataVersionTag, setFlagsFromString } from 'node:v8';
import type { Worker } from 'node:worker_threads';

/**
 * `cachedDataVersionTag()` is the hash V8 checks node's built-in code cache against (V8's version,
 * its flags, the CPU): equal to the process's tag with the flag at its default, a thread loads
 * from the cache. (Taken per test: other test files in this process may have changed other flags.)
 */
let DEFAULT_TAG = 0;
const SET = '--heap-growing-percent=150';
const RESET = ['--heap-growing-percent=0'];

/** A thread that notes its tag as it loads and posts it when told to (or exits, told 'exit'). */
const TAGGING_THREAD = `
const { parentPort } = require('node:worker_threads');
const tag = require('node:v8').cachedDataVersionTag();
parentPort.on('message', (word) => (word === 'exit' ? process.exit(0) : parentPort.postMessage(tag)));
`;

type ThreadsModule = typeof import('../src/threads');

/** threads.ts afresh: its record of changed flags is per module instance. */
function freshModule(): ThreadsModule {
  let loaded: ThreadsModule | undefined;
  jest.isolateModules(() => {
    loaded = require('../src/threads') as ThreadsModule;
  });
  return loaded!;
}

const firstMessage = (worker: Worker): Promise<unknown> => new Promise((resolve) => worker.once('message', resolve));
const exited = (worker: Worker): Promise<number> => new Promise((resolve) => worker.once('exit', resolve));
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  for (const flag of RESET) setFlagsFromString(flag);
  DEFAULT_TAG = cachedDataVersionTag();
});
afterEach(() => {
  for (const flag of RESET) setFlagsFromString(flag);
});

describe('changeV8Flag and startThread', () => {
  it('a flag changed with changeV8Flag takes effect at once and changes the tag', () => {
    const { changeV8Flag } = freshModule();
    changeV8Flag('heap-growing-percent', SET, RESET);
    expect(cachedDataVersionTag()).not.toBe(DEFAULT_TAG);
  });

  it('a thread loads with the flags at their defaults, and they are set again once it posts', async () => {
    const { changeV8Flag, startThread } = freshModule();
    changeV8Flag('heap-growing-percent', SET, RESET);
    const changedTag = cachedDataVersionTag();

    const worker = startThread(TAGGING_THREAD, { eval: true, loadingMs: 600_000 });
    try {
      expect(cachedDataVersionTag()).toBe(DEFAULT_TAG);
      const posted = firstMessage(worker);
      worker.postMessage('tag');
      expect(await posted).toBe(DEFAULT_TAG);
      expect(cachedDataVersionTag()).toBe(changedTag);
    } finally {
      await worker.terminate();
    }
  });

  it('holds the defaults until the last of several loading threads has posted or exited', async () => {
    const { changeV8Flag, startThread } = freshModule();
    changeV8Flag('heap-growing-percent', SET, RESET);
    const changedTag = cachedDataVersionTag();

    const first = startThread(TAGGING_THREAD, { eval: true, loadingMs: 600_000 });
    const second = startThread(TAGGING_THREAD, { eval: true, loadingMs: 600_000 });
    try {
      const posted = firstMessage(first);
      first.postMessage('tag');
      expect(await posted).toBe(DEFAULT_TAG);
      expect(cachedDataVersionTag()).toBe(DEFAULT_TAG);
      const gone = exited(second);
      second.postMessage('exit');
      await gone;
      expect(cachedDataVersionTag()).toBe(changedTag);
    } finally {
      await Promise.all([first.terminate(), second.terminate()]);
    }
  });

  it('a flag changed while a thread loads takes effect when it has loaded', async () => {
    const { changeV8Flag, startThread } = freshModule();
    changeV8Flag('heap-growing-percent', '--heap-growing-percent=120', RESET);
    const worker = startThread(TAGGING_THREAD, { eval: true, loadingMs: 600_000 });
    try {
      changeV8Flag('heap-growing-percent', SET, RESET);
      expect(cachedDataVersionTag()).toBe(DEFAULT_TAG);
      const posted = firstMessage(worker);
      worker.postMessage('tag');
      await posted;
      const now = cachedDataVersionTag();
      setFlagsFromString(SET);
      expect(now).toBe(cachedDataVersionTag());
    } finally {
      await worker.terminate();
    }
  });

  it('a thread that posts nothing gives the flags back after loadingMs', async () => {
    const { changeV8Flag, startThread } = freshModule();
    changeV8Flag('heap-growing-percent', SET, RESET);
    const changedTag = cachedDataVersionTag();
    const worker = startThread(TAGGING_THREAD, { eval: true, loadingMs: 1 });
    try {
      while (cachedDataVersionTag() !== changedTag) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(cachedDataVersionTag()).toBe(changedTag);
    } finally {
      await worker.terminate();
    }
  });

  it('without a changed flag it is new Worker, and a thread that fails to start gives nothing back twice', async () => {
    const plain = freshModule();
    const worker = plain.startThread(TAGGING_THREAD, { eval: true });
    expect(cachedDataVersionTag()).toBe(DEFAULT_TAG);
    await worker.terminate();

    const { changeV8Flag, startThread } = freshModule();
    changeV8Flag('heap-growing-percent', SET, RESET);
    const changedTag = cachedDataVersionTag();
    expect(() => startThread('no-such-thread.js')).toThrow();
    expect(cachedDataVersionTag()).toBe(changedTag);
    const failing = startThread('throw new Error("no")', { eval: true, loadingMs: 600_000 });
    failing.on('error', () => undefined);
    await exited(failing);
    await settle();
    expect(cachedDataVersionTag()).toBe(changedTag);
  });
});
