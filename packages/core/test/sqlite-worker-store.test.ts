import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { ErrorCodes, isTributaryError } from '@tributary/plugin-api';
import { readFingerprintPages } from '../src/store/sqlite/sqlite-page-streams.js';
import { SqliteWorkerStore } from '../src/store/sqlite/sqlite-worker-store.js';
import { WORKER_METHODS } from '../src/store/sqlite/thread/sqlite-worker-methods.js';
import { versionWithLostGroup } from './support/lost-group.js';

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

describe('a catalog that starts on the calling thread (threadAfterMs)', () => {
  const unit = (name: string) => ({ unitId: name, typeId: 'file', key: { name }, metadata: {}, artifacts: [] });
  const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as Error & { code?: string });

  test('a version begun here, with bulk writes pending, is finished on the thread', async () => {
    const file = join(dir, 'catalog.db');
    let moved = 0;
    // pending writes stay uncommitted until the hand-over (a long group), and a thread that had to
    // wait for their write lock would give up at once
    const store = new SqliteWorkerStore(file, { threadAfterMs: 1e9, busyTimeoutMs: 50, groupCommit: { maxAgeMs: 60_000 }, onThread: () => moved++ });
    try {
      await store.init();
      const repo = await store.createRepository({ name: 'r' });
      const version = await store.beginVersion(repo.id);
      await store.upsertUnits([unit('a'), unit('b')]);
      await store.associate(repo.id, version, [{ unitId: 'a', typeId: 'file' }], 'sync');
      expect(store.onThread).toBe(false);

      await store.moveToThread();
      expect([store.onThread, moved]).toEqual([true, 1]);
      await store.associate(repo.id, version, [{ unitId: 'b', typeId: 'file' }], 'sync');
      await store.commitVersion(repo.id, version);
      expect(await store.countRepoUnits(repo.id, version)).toEqual({ file: 2 });
      await store.moveToThread(); // once moved, nothing more happens
      expect(moved).toBe(1);
    } finally {
      await store.close();
    }
    const reopened = new SqliteWorkerStore(file, { threadAfterMs: 1e9 });
    await reopened.init();
    expect((await reopened.getRepository('r'))!.latestVersion).toBe(1);
    await reopened.close();
  });

  test('a version whose writes were lost here cannot be committed on the thread; one begun there can', async () => {
    const file = join(dir, 'catalog.db');
    const store = new SqliteWorkerStore(file, { threadAfterMs: 1e9 });
    try {
      await store.init();
      const { repoId, version: lost, failure } = await versionWithLostGroup(store, file);
      expect((failure as Error).message).toMatch(/injected failure/);

      await store.moveToThread();
      expect(store.onThread).toBe(true);
      const refused = await refusal(store.commitVersion(repoId, lost));
      expect(refused?.code).toBe(ErrorCodes.STORE);
      expect(refused?.message).toMatch(/were lost.*sync again/);

      await store.rollbackVersion(repoId, lost);
      const again = await store.beginVersion(repoId);
      await store.associate(repoId, again, [{ unitId: 'a', typeId: 'file' }], 'sync');
      await store.commitVersion(repoId, again);
      expect(await store.countRepoUnits(repoId, again)).toEqual({ file: 1 });
    } finally {
      await store.close();
    }
  });

  test('a publication whose entries were lost here cannot be completed on the thread; one whose entries were not can', async () => {
    const file = join(dir, 'catalog.db');
    const store = new SqliteWorkerStore(file, { threadAfterMs: 1e9 });
    const input = (repoId: string, publisherKey: string) => ({ repoId, version: 0, publisherKey, publisher: 'file', options: {}, createdAt: '2024-05-01T10:00:00.000Z' });
    const entry = (path: string) => ({ path, kind: 'generated' as const, sha256: 'a'.repeat(64), size: 1, digests: { sha256: 'a'.repeat(64) }, urls: [], unitId: null });
    const summary = { files: 1, bytes: 1, conflicts: 0, info: {}, completedAt: '2024-05-01T10:01:00.000Z' };
    try {
      await store.init();
      const repo = await store.createRepository({ name: 'r' });
      const raw = new BetterSqlite3(file);
      raw.exec(`CREATE TRIGGER fail_group BEFORE INSERT ON publication_entries WHEN NEW.path = 'poison'
                BEGIN SELECT RAISE(ROLLBACK, 'injected failure'); END`);
      raw.close();
      const lost = await store.createPublication(input(repo.id, 'file:lost'));
      await store.addPublicationEntries(lost, [entry('b')]);
      expect((await refusal(store.addPublicationEntries(lost, [entry('poison')])))?.message).toMatch(/injected failure/);
      // begun after the loss, its entries pending at the move
      const kept = await store.createPublication(input(repo.id, 'file:kept'));
      await store.addPublicationEntries(kept, [entry('a')]);

      await store.moveToThread();
      expect(store.onThread).toBe(true);
      expect((await refusal(store.completePublication(lost, summary)))?.message).toMatch(/entries written for it were lost/);
      await store.completePublication(kept, summary);
      expect(await store.getPublicationEntry(kept, 'a')).toMatchObject({ path: 'a', size: 1 });
    } finally {
      await store.close();
    }
  });

  test('a stream read here goes on from the thread after the move, each key once', async () => {
    const store = new SqliteWorkerStore(join(dir, 'catalog.db'), { threadAfterMs: 1e9, keyPageSize: 100 });
    try {
      await store.init();
      const repo = await store.createRepository({ name: 'r' });
      const names = Array.from({ length: 350 }, (_, i) => `u${String(i).padStart(3, '0')}`);
      await store.upsertUnits(names.map(unit));
      const version = await store.beginVersion(repo.id);
      await store.associate(repo.id, version, names.map((unitId) => ({ unitId, typeId: 'file' })), 'sync');
      await store.commitVersion(repo.id, version);
      const seen: string[] = [];
      for await (const key of store.repoUnitKeys(repo.id, version)) {
        seen.push(key.unitId);
        if (seen.length === 150) await store.moveToThread();
      }
      expect(store.onThread).toBe(true);
      expect(seen).toEqual(names);
    } finally {
      await store.close();
    }
  });

  test('it moves by itself once its calls have taken threadAfterMs; the calls made meanwhile wait, and run there in order', async () => {
    const moves: boolean[] = [];
    const store = new SqliteWorkerStore(join(dir, 'catalog.db'), { threadAfterMs: 0, onThread: () => moves.push(store.onThread) });
    try {
      await store.init();
      expect(store.onThread).toBe(false); // init alone does not move it
      const repo = await store.createRepository({ name: 'r' }); // the first call: the thread starts
      const version = store.beginVersion(repo.id);
      const written = store.upsertUnits([unit('a'), unit('b')]);
      const associated = version.then((v) => store.associate(repo.id, v, [{ unitId: 'a', typeId: 'file' }, { unitId: 'b', typeId: 'file' }], 'sync'));
      await expect(written).resolves.toEqual(['created', 'created']);
      await associated;
      expect(moves).toEqual([true]);
      await store.commitVersion(repo.id, await version);
      expect(await store.countRepoUnits(repo.id, await version)).toEqual({ file: 2 });
    } finally {
      await store.close();
    }
  });

  test('closing while the thread starts runs the waiting calls here first, and loses nothing', async () => {
    const file = join(dir, 'catalog.db');
    const moves: boolean[] = [];
    const store = new SqliteWorkerStore(file, { threadAfterMs: 0, onThread: () => moves.push(true) });
    await store.init();
    const repo = await store.createRepository({ name: 'r' }); // the thread starts
    const written = store.upsertUnits([unit('a')]); // waits for it
    await store.close();
    await expect(written).resolves.toEqual(['created']);
    expect(moves).toEqual([]);
    const reopened = new SqliteWorkerStore(file, { threadAfterMs: 1e9 });
    await reopened.init();
    expect(await reopened.findUnits(['a'])).toMatchObject([{ unitId: 'a' }]);
    expect(await reopened.getRepositoryById(repo.id)).toMatchObject({ name: 'r' });
    await reopened.close();
  });

  test('a thread that cannot start leaves the catalog here: the calls that waited, and every later one, run here', async () => {
    // options a thread cannot be given (a function does not clone): starting it fails
    const unsendable = { groupCommit: { maxRows: 1000, unsendable: () => undefined } } as unknown as Record<string, never>;
    const store = new SqliteWorkerStore(join(dir, 'catalog.db'), { threadAfterMs: 0, ...unsendable });
    try {
      await store.init();
      const repo = await store.createRepository({ name: 'r' }); // the move begins, and fails
      const written = store.upsertUnits([unit('a')]);
      await store.moveToThread();
      await expect(written).resolves.toEqual(['created']);
      expect(store.onThread).toBe(false);
      const version = await store.beginVersion(repo.id);
      await store.associate(repo.id, version, [{ unitId: 'a', typeId: 'file' }], 'sync');
      await store.commitVersion(repo.id, version);
      expect(await store.countRepoUnits(repo.id, version)).toEqual({ file: 1 });
    } finally {
      await store.close();
    }
  });

  test('refusals and failures here come back as they would from the thread', async () => {
    const store = new SqliteWorkerStore(join(dir, 'catalog.db'), { threadAfterMs: 1e9 });
    try {
      await store.init();
      await store.createRepository({ name: 'taken' });
      const exists = await refusal(store.createRepository({ name: 'taken' }));
      expect(isTributaryError(exists, ErrorCodes.REPO_EXISTS)).toBe(true);
      const call = (store as unknown as { call(method: string, ...args: unknown[]): Promise<unknown> }).call.bind(store);
      const unknown = await refusal(call('upsertEncodedUnits'));
      expect(isTributaryError(unknown, ErrorCodes.STORE)).toBe(true);
      expect(unknown?.message).toContain(`unknown catalog method 'upsertEncodedUnits'`);
      expect(store.onThread).toBe(false);
    } finally {
      await store.close();
    }
    const closed = await refusal(store.listRepositories());
    expect(isTributaryError(closed, ErrorCodes.STORE)).toBe(true);
  });
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
