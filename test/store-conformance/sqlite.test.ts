import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteContentStore } from '../../packages/core/src/store/sqlite/sqlite-content-store.js';
import { describeStoreConformance } from './describe-store-conformance.js';

describeStoreConformance('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-sqlite-store-'));
  const store = new SqliteContentStore(join(dir, 'catalog.db'));
  await store.init();
  return {
    store,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
