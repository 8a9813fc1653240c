import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteWorkerStore } from '../../packages/core/src/store/sqlite/sqlite-worker-store.js';
import { describeStoreConformance } from './describe-store-conformance.js';

/** The embedded catalog on its own thread (what hosts use by default) keeps every store behaviour. */
describeStoreConformance('sqlite on a worker thread', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-sqlite-worker-store-'));
  const store = new SqliteWorkerStore(join(dir, 'catalog.db'));
  await store.init();
  return {
    store,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
