import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { ErrorCodes } from '@tributary/plugin-api';
import { openStore } from '../src/store/open-store.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-open-store-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('the SQLite spec sets the page cache (and keeps the default without one)', async () => {
  const sized = await openStore({ sqlite: join(dir, 'a.db'), inProcess: true, cacheMiB: 48 });
  const plain = await openStore({ sqlite: join(dir, 'b.db'), inProcess: true });
  try {
    const cacheOf = (store: unknown) => (store as { db: Database }).db.pragma('cache_size', { simple: true });
    expect(cacheOf(sized)).toBe(-48 * 1024);
    expect(cacheOf(plain)).toBe(-16 * 1024);
  } finally {
    await sized.close();
    await plain.close();
  }
});

test.each([
  [{ cacheMiB: 0 }],
  [{ cacheMiB: -8 }],
  [{ cacheMiB: 1.5 }],
  [{ cacheMiB: Number.NaN }],
  [{ busyTimeoutMs: -1 }],
])('a SQLite spec with %p is refused with a typed error, on either thread', async (options) => {
  for (const inProcess of [true, false]) {
    await expect(openStore({ sqlite: join(dir, 'c.db'), inProcess, ...options })).rejects.toMatchObject({
      code: ErrorCodes.INVALID_ARGUMENT,
      message: expect.stringMatching(/the SQLite store's (cacheMiB|busyTimeoutMs) must be an integer/),
    });
  }
});

test('a store on the catalog thread opens with a cache size and works', async () => {
  const store = await openStore({ sqlite: join(dir, 'd.db'), cacheMiB: 24 });
  try {
    await store.createRepository({ name: 'r' });
    expect((await store.listRepositories()).map((r) => r.name)).toEqual(['r']);
  } finally {
    await store.close();
  }
});
