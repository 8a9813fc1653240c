import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, isTributaryError } from '@tributary/plugin-api';
import { readFingerprintPages } from '../src/store/sqlite/sqlite-page-streams.js';
import { SqliteWorkerStore } from '../src/store/sqlite/sqlite-worker-store.js';
import { WORKER_METHODS } from '../src/store/sqlite/thread/sqlite-worker-methods.js';

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

test('the methods that only forward are made from WORKER_METHODS; the thread serves no name outside it', async () => {
  const store = new SqliteWorkerStore(join(dir, 'catalog.db'));
  try {
    for (const [method, entry] of Object.entries(WORKER_METHODS)) {
      const own = (store as unknown as Record<string, unknown>)[method];
      if (entry.kind === 'plain' || entry.kind === 'encoded') expect([method, typeof own, (own as { name?: string }).name]).toEqual([method, 'function', method]);
    }
    await store.init();
    // a name of the catalog's that is no store method (nor on the table) is refused
    const call = (store as unknown as { call(method: string, ...args: unknown[]): Promise<unknown> }).call.bind(store);
    for (const method of ['upsertEncodedUnits', 'toString', 'constructor']) {
      const refused = await call(method).catch((error: unknown) => error);
      expect(isTributaryError(refused, ErrorCodes.STORE)).toBe(true);
      expect((refused as Error).message).toContain(`unknown catalog method '${method}'`);
    }
    // encoded both ways: units as columns, found units as JSON text
    await expect(store.upsertUnits([{ unitId: 'u1', typeId: 'file', key: { name: 'a' }, metadata: { size: 1 }, artifacts: [] }])).resolves.toEqual(['created']);
    await expect(store.findUnits(['u1', 'u2'])).resolves.toMatchObject([{ unitId: 'u1', typeId: 'file', metadata: { size: 1 } }]);
  } finally {
    await store.close();
  }
});

describe('readFingerprintPages', () => {
  const page = (n: number, next: number | undefined) => ({
    fingerprints: Float64Array.of(n, n, n, n),
    next: next === undefined ? undefined : { typeId: 't', unitId: String(next) },
  });

  test('asks for the next page as soon as one arrives, before the caller takes it in', async () => {
    const asked: (string | undefined)[] = [];
    const pages = readFingerprintPages(async (after) => {
      asked.push(after?.unitId);
      const at = after === undefined ? 0 : Number(after.unitId);
      return page(at, at < 2 ? at + 1 : undefined);
    });
    const seen: number[] = [];
    for await (const fingerprints of pages) {
      seen.push(fingerprints[0]!);
      // the page after this one is already on its way while the caller works on this one
      if (seen.length === 1) expect(asked).toEqual([undefined, '1']);
    }
    expect(seen).toEqual([0, 1, 2]);
    expect(asked).toEqual([undefined, '1', '2']);
  });

  test('a caller that stops early leaves no unhandled rejection from the page asked ahead', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const pages = readFingerprintPages(async (after) => {
        if (after !== undefined) throw new Error('the store closed');
        return page(0, 1);
      });
      for await (const _fingerprints of pages) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
      // and a caller that goes on gets the failure
      const failing = readFingerprintPages((after) => {
        if (after !== undefined) throw new Error('the store closed');
        return page(0, 1);
      });
      await expect((async () => {
        for await (const _fingerprints of failing);
      })()).rejects.toThrow('the store closed');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
