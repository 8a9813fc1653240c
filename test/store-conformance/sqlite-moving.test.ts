import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContentStore } from '@tributary/core';
import { SqliteWorkerStore } from '../../packages/core/src/store/sqlite/sqlite-worker-store.js';
import { describeStoreConformance } from './describe-store-conformance.js';

/** The port's methods that answer at once (streams, and fingerprints computed on the caller's side). */
const SYNCHRONOUS = new Set(['repoUnitKeys', 'repoUnits', 'repoUnitFingerprints', 'diffVersions', 'catalogUnits', 'unitFingerprints']);
let opened = 0;

/**
 * The embedded catalog as the CLI's sync opens it: on the calling thread first, then moved to its
 * own thread. Each test's store moves before a different call (its first, second, … twelfth), so
 * across the suite the hand-over lands between every kind of call; every behaviour holds on either
 * side of it.
 */
describeStoreConformance('sqlite moving to its thread', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-sqlite-moving-store-'));
  const store = new SqliteWorkerStore(join(dir, 'catalog.db'), { threadAfterMs: Number.MAX_SAFE_INTEGER });
  await store.init();
  const moveBefore = (opened++ % 12) + 1;
  let calls = 0;
  const moving = new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'close' || property === 'init') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (SYNCHRONOUS.has(property)) {
        return (...args: unknown[]) => {
          if (++calls === moveBefore) void target.moveToThread();
          return method.apply(target, args);
        };
      }
      return async (...args: unknown[]) => {
        if (++calls === moveBefore) await target.moveToThread();
        return method.apply(target, args);
      };
    },
  }) as ContentStore;
  return {
    store: moving,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
