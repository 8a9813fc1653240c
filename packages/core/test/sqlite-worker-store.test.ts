import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, isTributaryError } from '@tributary/plugin-api';
import { SqliteWorkerStore } from '../src/store/sqlite/sqlite-worker-store.js';

/** What only the catalog-on-a-thread adds; the store behaviours run in test/store-conformance. */

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-sqlite-worker-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('an idle store does not keep a process alive, and awaiting close() finishes before the process may exit', async () => {
  const script = join(dir, 'script.js');
  const dist = join(__dirname, '..', 'dist', 'store', 'sqlite', 'sqlite-worker-store.js');
  await writeFile(
    script,
    `const { SqliteWorkerStore } = require(${JSON.stringify(dist)});
     (async () => {
       const store = new SqliteWorkerStore(process.argv[2]);
       await store.init();
       await store.createRepository({ name: 'r' });
       await store.close();
       process.stdout.write('closed\\n');
       const idle = new SqliteWorkerStore(process.argv[2]);
       await idle.init();
       process.stdout.write('left open\\n');
     })();`,
  );
  const run = spawnSync(process.execPath, [script, join(dir, 'catalog.db')], { encoding: 'utf8', timeout: 20_000 });
  expect(run.stderr).toBe('');
  expect(run.stdout).toBe('closed\nleft open\n');
  expect(run.status).toBe(0);
});

test('errors come back typed, and a closed store refuses calls with TRIBUTARY_ERR_STORE', async () => {
  const store = new SqliteWorkerStore(join(dir, 'catalog.db'));
  await store.init();
  await store.createRepository({ name: 'taken' });
  const exists = await store.createRepository({ name: 'taken' }).catch((error: unknown) => error);
  expect(isTributaryError(exists, ErrorCodes.REPO_EXISTS)).toBe(true);
  expect((exists as { details: Record<string, unknown> }).details).toEqual({ name: 'taken' });
  const stats = store.stats.roundTrips;
  await store.listRepositories();
  expect(store.stats.roundTrips).toBe(stats + 1);
  await store.close();
  const closed = await store.listRepositories().catch((error: unknown) => error);
  expect(isTributaryError(closed, ErrorCodes.STORE)).toBe(true);
});
