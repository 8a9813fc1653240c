import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UnitWrite } from '../src/store/content-store.js';
import { SqliteCheckpointer } from '../src/store/sqlite/write-path/sqlite-checkpointer.js';
import { SqliteContentStore, type SqliteContentStoreOptions } from '../src/store/sqlite/sqlite-content-store.js';

let dir: string;
let file: string;
const opened: SqliteContentStore[] = [];

async function open(options: SqliteContentStoreOptions = {}): Promise<SqliteContentStore> {
  const store = new SqliteContentStore(file, { groupCommit: { maxRows: 1000, maxAgeMs: 60_000, pauseMs: 0 }, ...options });
  opened.push(store);
  await store.init();
  return store;
}

/** 4,000 units of ~2 KB each: ~8 MB of pages, far below the writer's own autocheckpoint. */
async function writeUnits(store: SqliteContentStore): Promise<void> {
  const filler = 'x'.repeat(2000);
  for (let batch = 0; batch < 8; batch++) {
    const units: UnitWrite[] = [];
    for (let i = 0; i < 500; i++) {
      const name = `u${batch}-${i}`;
      units.push({ unitId: name, typeId: 'file', key: { name }, metadata: { filler }, artifacts: [] });
    }
    await store.upsertUnits(units);
  }
}

const size = (path: string) => (existsSync(path) ? statSync(path).size : 0);

/**
 * Waits until `condition` holds, checking every 20 ms, for at most `ms`; returns whether it did.
 * The deadline only stops a wait for what never comes: a checkpoint thread beside busy disks and
 * CPUs may take many seconds to copy its megabytes.
 */
async function eventually(condition: () => boolean, ms = 120_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-checkpoint-'));
  file = join(dir, 'catalog.db');
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  await rm(dir, { recursive: true, force: true });
});

test('committed bulk writes are copied into the catalog file by the checkpoint thread while the store stays open', async () => {
  const store = await open();
  const before = size(file);
  await writeUnits(store);
  expect(size(`${file}-wal`)).toBeGreaterThan(4 * 1024 * 1024);
  // the writer's own autocheckpoint (64 MiB of log) is far away: only the thread can grow the file
  expect(await eventually(() => size(file) > before + 4 * 1024 * 1024)).toBe(true);
  expect(await store.findUnits(['u0-0', 'u7-499'])).toHaveLength(2);
});

test('without the checkpoint thread the same writes stay in the log until the store closes', async () => {
  const store = await open({ checkpointThread: false });
  const before = size(file);
  await writeUnits(store);
  expect(size(`${file}-wal`)).toBeGreaterThan(4 * 1024 * 1024);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(size(file)).toBe(before);
  await store.close();
  expect(size(file)).toBeGreaterThan(before + 4 * 1024 * 1024);
});

test('closing the store ends the thread, copies what is left and removes the log; nothing is lost', async () => {
  const store = await open();
  await writeUnits(store);
  await store.close();
  expect(existsSync(`${file}-wal`)).toBe(false);
  const again = await open();
  expect(await again.findUnits(['u0-0', 'u3-250', 'u7-499'])).toHaveLength(3);
});

test('a checkpoint thread that cannot open the catalog hands checkpoints back to the writer, once', async () => {
  let unavailable = 0;
  const checkpointer = new SqliteCheckpointer(join(dir, 'missing', 'catalog.db'), () => unavailable++, { startLogBytes: 0 });
  checkpointer.request();
  expect(await eventually(() => unavailable > 0)).toBe(true);
  checkpointer.request(); // no new thread, no second call
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(unavailable).toBe(1);
  await checkpointer.close();
});

test('a short sync\'s log (under 4 MiB) starts no thread: closing the store copies it and removes the log', async () => {
  const store = await open();
  // a full group (1,000 rows) commits, and asks for a checkpoint
  await store.upsertUnits(Array.from({ length: 1000 }, (_, i) => ({ unitId: `s${i}`, typeId: 'file', key: { n: i }, metadata: {}, artifacts: [] })));
  await store.upsertUnits([{ unitId: 'last', typeId: 'file', key: { n: -1 }, metadata: {}, artifacts: [] }]);
  expect(size(`${file}-wal`)).toBeGreaterThan(0);
  expect((store as unknown as { checkpointer: { worker: unknown } }).checkpointer.worker).toBeUndefined();
  await store.close();
  expect(existsSync(`${file}-wal`)).toBe(false);
  const again = await open();
  expect(await again.findUnits(['s0', 's999', 'last'])).toHaveLength(3);
});

test('a process that exits without closing its store still commits its last group and exits cleanly, whether or not a checkpoint thread had started', async () => {
  const script = join(dir, 'writer.js');
  const dist = join(__dirname, '..', 'dist', 'store', 'sqlite', 'sqlite-content-store.js');
  // a group left open at exit, after a full group (whose commit started the thread) or alone
  await writeFile(
    script,
    `const { SqliteContentStore } = require(${JSON.stringify(dist)});
     (async () => {
       const store = new SqliteContentStore(process.argv[2], { groupCommit: { maxRows: 500, maxAgeMs: 60000, pauseMs: 0 } });
       await store.init();
       const unit = (i, filler = '') => ({ unitId: 'u' + i, typeId: 'file', key: { n: i }, metadata: { filler }, artifacts: [] });
       // ~5 MB: a log the thread is started for
       if (process.argv[3] === 'two-groups') await store.upsertUnits(Array.from({ length: 500 }, (_, i) => unit(i, 'x'.repeat(10000))));
       await store.upsertUnits(Array.from({ length: 100 }, (_, i) => unit(500 + i)));
       process.exit(0);
     })();`,
  );
  const run = (variant: string) =>
    new Promise<string>((resolve) =>
      execFile(process.execPath, [script, file, variant], (error, _stdout, stderr) => resolve(error ? `exit ${String(error.code)}: ${stderr}` : 'ok')),
    );
  expect(await run('one-group')).toBe('ok');
  expect(await run('two-groups')).toBe('ok');
  const store = await open();
  expect(await store.findUnits(['u0', 'u499', 'u500', 'u599'])).toHaveLength(4);
});
