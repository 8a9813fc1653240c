import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { ErrorCodes, isTributaryError } from '@tributary/plugin-api';
import { SqliteContentStore } from '../src/store/sqlite/sqlite-content-store.js';
import { migrateSchema } from '../src/store/sqlite/catalog/sqlite-schema.js';
import { versionWithLostGroup } from './support/lost-group.js';

/** What only the embedded store does; the shared behaviours live in test/store-conformance. */

let dir: string;
const opened: SqliteContentStore[] = [];

async function open(file = join(dir, 'catalog.db'), options = {}): Promise<SqliteContentStore> {
  const store = new SqliteContentStore(file, options);
  opened.push(store);
  await store.init();
  return store;
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    if (isTributaryError(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-sqlite-'));
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  await rm(dir, { recursive: true, force: true });
});

test('a new catalog file has 16 KiB pages; an existing one keeps its own page size and opens as before', async () => {
  const fresh = await open(join(dir, 'fresh.db'));
  await fresh.createRepository({ name: 'r' });
  const older = join(dir, 'older.db');
  const raw = new BetterSqlite3(older);
  raw.pragma('page_size = 4096');
  raw.pragma('journal_mode = WAL');
  raw.exec('CREATE TABLE leftover (x)');
  raw.close();
  const reopened = await open(older);
  await reopened.createRepository({ name: 'r' });
  expect(await reopened.getRepository('r')).toMatchObject({ name: 'r' });
  const pageSizeOf = (file: string) => {
    const db = new BetterSqlite3(file, { readonly: true });
    try {
      return db.pragma('page_size', { simple: true });
    } finally {
      db.close();
    }
  };
  expect(pageSizeOf(join(dir, 'fresh.db'))).toBe(16384);
  expect(pageSizeOf(older)).toBe(4096);
});

test('the catalog survives closing and reopening, and init on an existing file changes nothing', async () => {
  const first = await open();
  const repo = await first.createRepository({ name: 'kept', config: { a: 1 } });
  await first.upsertUnits([{ unitId: 'u1', typeId: 'file', key: { name: 'u1' }, metadata: {}, artifacts: [] }]);
  await first.commitVersion(repo.id, await first.beginVersion(repo.id));
  await first.close();

  const again = await open();
  await again.init();
  expect(await again.getRepository('kept')).toMatchObject({ id: repo.id, config: { a: 1 }, latestVersion: 1 });
  expect(await again.findUnits(['u1'])).toHaveLength(1);
  const raw = new BetterSqlite3(join(dir, 'catalog.db'), { readonly: true });
  try {
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('user_version', { simple: true })).toBeGreaterThanOrEqual(1);
  } finally {
    raw.close();
  }
});

test('two stores on one file share the lease: only one holder at a time', async () => {
  const hostA = await open();
  const hostB = await open();
  const repo = await hostA.createRepository({ name: 'shared' });
  expect(await hostA.acquireLease(repo.id, 'host-a', 60_000)).toBe(true);
  expect(await hostB.acquireLease(repo.id, 'host-b', 60_000)).toBe(false);
  await hostA.releaseLease(repo.id, 'host-a');
  expect(await hostB.acquireLease(repo.id, 'host-b', 60_000)).toBe(true);
  expect(await hostA.getLease(repo.id)).toMatchObject({ holder: 'host-b' });
});

test('a second connection reading version N does not see version N + 1 being written', async () => {
  const writer = await open();
  const reader = await open();
  const repo = await writer.createRepository({ name: 'r' });
  const unit = (name: string) => ({ unitId: name, typeId: 'file', key: { name }, metadata: {}, artifacts: [] });
  await writer.upsertUnits([unit('a'), unit('b')]);
  const v1 = await writer.beginVersion(repo.id);
  await writer.associate(repo.id, v1, [{ unitId: 'a', typeId: 'file' }], 'sync');
  await writer.commitVersion(repo.id, v1);
  const v2 = await writer.beginVersion(repo.id);
  await writer.associate(repo.id, v2, [{ unitId: 'b', typeId: 'file' }], 'sync');
  const latest = (await reader.getRepository('r'))!.latestVersion;
  expect(latest).toBe(1);
  expect(await reader.countRepoUnits(repo.id, latest)).toEqual({ file: 1 });
});

test('writing into a committed version, or rolling one back, is refused with TRIBUTARY_ERR_STORE', async () => {
  const store = await open();
  const repo = await store.createRepository({ name: 'r' });
  await store.upsertUnits([{ unitId: 'a', typeId: 'file', key: { name: 'a' }, metadata: {}, artifacts: [] }]);
  const v1 = await store.beginVersion(repo.id);
  await store.associate(repo.id, v1, [{ unitId: 'a', typeId: 'file' }], 'sync');
  await store.commitVersion(repo.id, v1);
  expect((await failure(store.associate(repo.id, 1, [{ unitId: 'a', typeId: 'file' }], 'user'))).code).toBe(ErrorCodes.STORE);
  expect((await failure(store.unassociate(repo.id, 1, ['a']))).code).toBe(ErrorCodes.STORE);
  expect((await failure(store.rollbackVersion(repo.id, 1))).code).toBe(ErrorCodes.STORE);
  expect(await store.countRepoUnits(repo.id, 1)).toEqual({ file: 1 });
});

test('a write blocked by another process holding the lock fails as TRIBUTARY_ERR_STORE after the busy timeout', async () => {
  const store = await open(join(dir, 'catalog.db'), { busyTimeoutMs: 50 });
  const other = new BetterSqlite3(join(dir, 'catalog.db'));
  try {
    other.exec('BEGIN IMMEDIATE');
    const error = await failure(store.createRepository({ name: 'blocked' }));
    expect(error.code).toBe(ErrorCodes.STORE);
    expect(error.details).toMatchObject({ operation: 'create repository', sqliteCode: 'SQLITE_BUSY' });
    other.exec('ROLLBACK');
    await expect(store.createRepository({ name: 'blocked' })).resolves.toMatchObject({ name: 'blocked' });
  } finally {
    other.close();
  }
});

test('a catalog path that cannot be opened, and a closed store, give TRIBUTARY_ERR_STORE', async () => {
  const notADir = join(dir, 'plain-file');
  await writeFile(notADir, 'x');
  let thrown: unknown;
  try {
    new SqliteContentStore(join(notADir, 'catalog.db'));
  } catch (error) {
    thrown = error;
  }
  expect(isTributaryError(thrown, ErrorCodes.STORE)).toBe(true);

  const store = await open();
  await store.close();
  expect((await failure(store.listRepositories())).code).toBe(ErrorCodes.STORE);
});

test('an empty repository name is TRIBUTARY_ERR_INVALID_ARGUMENT', async () => {
  const store = await open();
  expect((await failure(store.createRepository({ name: ' ' }))).code).toBe(ErrorCodes.INVALID_ARGUMENT);
});

test('repoUnitKeys reads in pages of the configured size, one round trip each', async () => {
  const store = await open(join(dir, 'catalog.db'), { keyPageSize: 10 });
  const repo = await store.createRepository({ name: 'r' });
  const units = Array.from({ length: 35 }, (_, i) => ({ unitId: `u${i}`, typeId: 'file', key: { name: `u${i}` }, metadata: {}, artifacts: [] }));
  await store.upsertUnits(units);
  const version = await store.beginVersion(repo.id);
  await store.associate(repo.id, version, units, 'sync');
  const before = store.stats.roundTrips;
  let count = 0;
  for await (const _ of store.repoUnitKeys(repo.id, version)) count++;
  expect(count).toBe(35);
  expect(store.stats.roundTrips - before).toBe(4);
});

describe('group commit of bulk writes', () => {
  const unit = (name: string) => ({ unitId: name, typeId: 'file', key: { name }, metadata: {}, artifacts: [] });
  const visibleTo = (file: string) => {
    const reader = new BetterSqlite3(file, { readonly: true });
    try {
      return (reader.prepare('SELECT unit_id FROM units ORDER BY unit_id').all() as { unit_id: string }[]).map((r) => r.unit_id);
    } finally {
      reader.close();
    }
  };

  test('bulk writes reach other connections at the next plain write, at close, and when the group is full', async () => {
    const file = join(dir, 'catalog.db');
    const store = await open(file, { groupCommit: { maxRows: 3, maxAgeMs: 60_000 } });
    const repo = await store.createRepository({ name: 'r' });
    await store.upsertUnits([unit('a')]);
    expect(visibleTo(file)).toEqual([]);
    await store.acquireLease(repo.id, 'host', 60_000);
    expect(visibleTo(file)).toEqual(['a']);
    await store.upsertUnits([unit('b'), unit('c')]);
    expect(visibleTo(file)).toEqual(['a']);
    await store.upsertUnits([unit('d')]); // 3 rows in the group: it commits
    expect(visibleTo(file)).toEqual(['a', 'b', 'c', 'd']);
    await store.upsertUnits([unit('e')]);
    await store.close();
    expect(visibleTo(file)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  test('an idle group commits after maxAgeMs, so other processes are not kept waiting for the lock', async () => {
    const file = join(dir, 'catalog.db');
    const store = await open(file, { groupCommit: { maxAgeMs: 50 } });
    await store.upsertUnits([unit('a')]);
    expect(visibleTo(file)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(visibleTo(file)).toEqual(['a']);
  });

  test('a failing bulk call undoes only itself; the rest of the group commits', async () => {
    const file = join(dir, 'catalog.db');
    const store = await open(file);
    const repo = await store.createRepository({ name: 'r' });
    await store.upsertUnits([unit('a'), unit('b')]);
    const v1 = await store.beginVersion(repo.id);
    await store.associate(repo.id, v1, [{ unitId: 'a', typeId: 'file' }], 'sync');
    // a unit the catalog does not hold: refused inside the call
    expect((await failure(store.associate(repo.id, v1, [{ unitId: 'nowhere', typeId: 'file' }], 'sync'))).code).toBe(
      ErrorCodes.INVALID_ARGUMENT,
    );
    // a version that is not the one being written: refused inside the call
    expect((await failure(store.associate(repo.id, v1 + 1, [{ unitId: 'b', typeId: 'file' }], 'sync'))).code).toBe(ErrorCodes.STORE);
    await store.commitVersion(repo.id, v1);
    expect(await store.countRepoUnits(repo.id, v1)).toEqual({ file: 1 });
  });

  test('when SQLite rolls the whole group back, the version it wrote into cannot be committed', async () => {
    const file = join(dir, 'catalog.db');
    const store = await open(file);
    const { repoId, version: v1, failure: lost } = await versionWithLostGroup(store, file);
    expect((lost as Error).message).toMatch(/injected failure/);
    const refused = await failure(store.commitVersion(repoId, v1));
    expect(refused.code).toBe(ErrorCodes.STORE);
    expect(refused.message).toMatch(/were lost.*sync again/);
    expect((await store.getRepository('r'))!.latestVersion).toBe(0);

    await store.rollbackVersion(repoId, v1);
    const again = await store.beginVersion(repoId);
    await store.associate(repoId, again, [{ unitId: 'a', typeId: 'file' }], 'sync');
    await store.commitVersion(repoId, again);
    expect(await store.countRepoUnits(repoId, again)).toEqual({ file: 1 });
  });
});

test('a catalog written by schema 1 (separate unit-artifact and remote-artifact tables) is upgraded in place', async () => {
  const file = join(dir, 'catalog.db');
  const old = new BetterSqlite3(file);
  migrateSchema(old, 1);
  old.exec(`
    INSERT INTO units (unit_id, type_id, key, metadata) VALUES ('u1', 'file', '{"name":"u1"}', '{"size":3}');
    INSERT INTO units (unit_id, type_id, key, metadata) VALUES ('u2', 'file', '{"name":"u2"}', '{}');
    INSERT INTO artifacts (sha256, size, md5) VALUES ('${'a'.repeat(64)}', 3, '${'b'.repeat(32)}');
    INSERT INTO unit_artifacts (unit_id, relative_path, sha256) VALUES ('u1', 'z/second', NULL);
    INSERT INTO unit_artifacts (unit_id, relative_path, sha256) VALUES ('u1', 'a/first', '${'a'.repeat(64)}');
    INSERT INTO remote_artifacts (unit_id, relative_path, remote, urls, size, digests)
      VALUES ('u1', 'z/second', 'https://mirror.example/', '["https://mirror.example/z/second"]', 7, '{"sha256":"${'c'.repeat(64)}"}');
  `);
  old.close();
  const store = await open(file);
  const [u1, u2] = await store.findUnits(['u1', 'u2']);
  expect(u1!.artifacts).toEqual([
    { relativePath: 'a/first', sha256: 'a'.repeat(64) },
    { relativePath: 'z/second', sha256: null },
  ]);
  expect(u2!.artifacts).toEqual([]);
  const repo = await store.createRepository({ name: 'r' });
  const v1 = await store.beginVersion(repo.id);
  await store.associate(repo.id, v1, [{ unitId: 'u1', typeId: 'file' }], 'sync');
  await store.commitVersion(repo.id, v1);
  const views = [];
  for await (const view of store.repoUnits(repo.id, v1)) views.push(view);
  expect(views[0]!.artifacts).toEqual([
    { relativePath: 'a/first', sha256: 'a'.repeat(64), size: 3, stored: true, remoteUrls: [], digests: { sha256: 'a'.repeat(64), md5: 'b'.repeat(32) } },
    {
      relativePath: 'z/second',
      sha256: 'c'.repeat(64),
      size: 7,
      stored: false,
      remoteUrls: ['https://mirror.example/z/second'],
      digests: { sha256: 'c'.repeat(64) },
    },
  ]);
});

test('what one connection remembers of units is forgotten when another connection commits', async () => {
  const file = join(dir, 'catalog.db');
  const a = await open(file);
  const b = await open(file);
  const unit = { unitId: 'x', typeId: 'file', key: { name: 'x' }, metadata: {}, artifacts: [] };
  const repo = await a.createRepository({ name: 'r' });
  expect(await a.findUnits(['x'])).toEqual([]); // a: x is not in the catalog
  // b creates x and associates it into version 1
  await b.upsertUnits([unit]);
  const v1 = await b.beginVersion(repo.id);
  await b.associate(repo.id, v1, [{ unitId: 'x', typeId: 'file' }], 'sync');
  await b.commitVersion(repo.id, v1);
  // a must see x as stored and as already in the repository (a second present row would be refused)
  expect(await a.upsertUnits([unit])).toEqual(['unchanged']);
  const v2 = await a.beginVersion(repo.id);
  expect(await a.associate(repo.id, v2, [{ unitId: 'x', typeId: 'file' }], 'sync')).toEqual({});
  await a.commitVersion(repo.id, v2);
  expect(await a.countRepoUnits(repo.id, v2)).toEqual({ file: 1 });
  // and the other way round: a unit a created is associated by b before a associates it
  await a.upsertUnits([{ ...unit, unitId: 'y', key: { name: 'y' } }]);
  await a.acquireLease(repo.id, 'a', 60_000); // a plain write: a's pending units are committed
  const v3 = await b.beginVersion(repo.id);
  expect(await b.associate(repo.id, v3, [{ unitId: 'y', typeId: 'file' }], 'sync')).toEqual({ file: 1 });
  expect(await b.acquireLease(repo.id, 'b', 60_000)).toBe(false); // a plain write: b's rows are committed
  expect(await a.associate(repo.id, v3, [{ unitId: 'y', typeId: 'file' }], 'sync')).toEqual({});
  await a.commitVersion(repo.id, v3);
  expect(await b.countRepoUnits(repo.id, v3)).toEqual({ file: 2 });
  await a.close();
  await b.close();
});

test('a catalog written by schema 2 (content rows keyed by repository UUID and unit id) keeps every version through the upgrade', async () => {
  const file = join(dir, 'catalog.db');
  const old = new BetterSqlite3(file);
  migrateSchema(old, 2);
  const now = new Date().toISOString();
  const MAX = Number.MAX_SAFE_INTEGER;
  old.exec(`
    INSERT INTO repositories (id, name, latest_version, write_generation, created_at, updated_at)
      VALUES ('repo-a', 'a', 2, 2, '${now}', '${now}'), ('repo-b', 'b', 1, 1, '${now}', '${now}');
    INSERT INTO units (unit_id, type_id, key, metadata) VALUES
      ('u1', 'file', '{"name":"u1"}', '{}'), ('u2', 'file', '{"name":"u2"}', '{}'), ('u3', 'rpm', '{"name":"u3"}', '{}');
    -- a: u1 in versions 1..2, u2 only in version 1, u3 (user-added) from version 2; b: u1 in version 1
    INSERT INTO repository_content (repo_id, type_id, unit_id, version_removed, version_added, seen_generation, origin) VALUES
      ('repo-a', 'file', 'u1', ${MAX}, 1, 2, 'sync'),
      ('repo-a', 'file', 'u2', 2, 1, 1, 'sync'),
      ('repo-a', 'rpm', 'u3', ${MAX}, 2, 2, 'user'),
      ('repo-b', 'file', 'u1', ${MAX}, 1, 1, 'sync');
  `);
  old.close();
  const store = await open(file);
  const a = (await store.getRepository('a'))!;
  const b = (await store.getRepository('b'))!;
  const keys = async (repoId: string, version: number) => {
    const found: string[] = [];
    for await (const k of store.repoUnitKeys(repoId, version)) found.push(`${k.typeId}:${k.unitId}:${k.origin}`);
    return found;
  };
  expect(await keys(a.id, 1)).toEqual(['file:u1:sync', 'file:u2:sync']);
  expect(await keys(a.id, 2)).toEqual(['file:u1:sync', 'rpm:u3:user']);
  expect(await keys(b.id, 1)).toEqual(['file:u1:sync']);

  // the upgraded rows are written and read as usual: a mirror sync of a drops u1 and brings u2 back
  const c = await store.createRepository({ name: 'c' });
  const v3 = await store.beginVersion(a.id);
  await store.associate(a.id, v3, [{ unitId: 'u2', typeId: 'file' }], 'sync');
  expect(await store.unassociateUnseen(a.id, v3, false)).toEqual({ file: 1 });
  await store.commitVersion(a.id, v3);
  expect(await keys(a.id, 3)).toEqual(['file:u2:sync', 'rpm:u3:user']);
  expect(await keys(a.id, 2)).toEqual(['file:u1:sync', 'rpm:u3:user']);
  const c1 = await store.beginVersion(c.id);
  await store.associate(c.id, c1, [{ unitId: 'u3', typeId: 'rpm' }], 'sync');
  await store.commitVersion(c.id, c1);
  expect(await keys(c.id, 1)).toEqual(['rpm:u3:sync']);
  expect(await keys(b.id, 1)).toEqual(['file:u1:sync']);
  // deleting a repository takes its rows and no other repository's
  await store.deleteRepository(b.id);
  expect(await store.countRepoUnits(a.id, 3)).toEqual({ file: 1, rpm: 1 });
  expect((await store.deleteOrphans()).units).toBe(0); // u1 is still in a's version 2
});

test('a catalog written by schema 3 upgrades to content sources: its rows have none until a sync records them', async () => {
  const file = join(dir, 'catalog.db');
  const old = new BetterSqlite3(file);
  migrateSchema(old, 3);
  const now = new Date().toISOString();
  old.exec(`
    INSERT INTO repositories (id, name, latest_version, write_generation, created_at, updated_at, seq)
      VALUES ('repo-a', 'a', 1, 1, '${now}', '${now}', 1);
    INSERT INTO units (unit_id, type_id, key, metadata) VALUES ('u1', 'file', '{"name":"u1"}', '{}');
    INSERT INTO repository_content (repo, type_id, unit, version_removed, version_added, seen_generation, origin)
      VALUES (1, 'file', 1, ${Number.MAX_SAFE_INTEGER}, 1, 1, 'sync');
  `);
  old.close();
  const store = await open(file);
  const read = async (version: number) => {
    const pages: number[] = [];
    for await (const page of store.provenance.repoUnitSources('repo-a', version)) pages.push(...page);
    return pages;
  };
  expect(await read(1)).toEqual([]);
  expect(await store.countRepoUnits('repo-a', 1)).toEqual({ file: 1 });
  const v2 = await store.beginVersion('repo-a');
  await store.associate('repo-a', v2, [{ unitId: 'u1', typeId: 'file', source: [1, 2, 3] }], 'sync');
  await store.commitVersion('repo-a', v2);
  expect((await read(v2)).slice(0, 3)).toEqual([1, 2, 3]);
  // the unit written again: its recorded source no longer holds
  await store.upsertUnits([{ unitId: 'u1', typeId: 'file', key: { name: 'u1' }, metadata: { changed: true }, artifacts: [] }]);
  expect(await read(v2)).toEqual([]);
});

test('a catalog written by schema 4 upgrades to pinned unit revisions: its versions keep showing what they showed', async () => {
  const file = join(dir, 'catalog.db');
  const old = new BetterSqlite3(file);
  migrateSchema(old, 4);
  const now = new Date().toISOString();
  const MAX = Number.MAX_SAFE_INTEGER;
  // u1 was written twice since it entered the catalog (rev 2); a's row recorded a source at rev 2, b's at rev 1
  old.exec(`
    INSERT INTO repositories (id, name, latest_version, write_generation, created_at, updated_at, seq)
      VALUES ('repo-a', 'a', 1, 1, '${now}', '${now}', 1), ('repo-b', 'b', 1, 1, '${now}', '${now}', 2);
    INSERT INTO units (unit_id, type_id, key, metadata, artifacts, rev) VALUES
      ('u1', 'file', '{"name":"u1"}', '{"v":"x"}', '[["u1.bin",null]]', 2), ('u2', 'file', '{"name":"u2"}', '{}', '[]', 0);
    INSERT INTO repository_content (repo, type_id, unit, version_removed, version_added, seen_generation, origin, source_a, source_b, source_c, source_rev) VALUES
      (1, 'file', 1, ${MAX}, 1, 1, 'sync', 1, 2, 3, 2),
      (1, 'file', 2, ${MAX}, 1, 1, 'sync', NULL, NULL, NULL, NULL),
      (2, 'file', 1, ${MAX}, 1, 1, 'sync', 4, 5, 6, 1);
  `);
  old.close();
  const store = await open(file);
  const metadataOf = async (repoId: string, version: number) => {
    const found: Record<string, unknown> = {};
    for await (const unit of store.repoUnits(repoId, version)) found[unit.unitId] = unit.metadata;
    return found;
  };
  const sources = async (repoId: string, version: number) => {
    const found: number[] = [];
    for await (const page of store.provenance.repoUnitSources(repoId, version)) for (let at = 0; at < page.length; at += 4) found.push(page[at]!);
    return found;
  };
  expect(await metadataOf('repo-a', 1)).toEqual({ u1: { v: 'x' }, u2: {} });
  // a source holds where it did: recorded with the unit's current revision
  expect(await sources('repo-a', 1)).toEqual([1]);
  expect(await sources('repo-b', 1)).toEqual([]);

  // the unit written again: both repositories' version 1 keep showing what they showed
  await store.upsertUnits([{ unitId: 'u1', typeId: 'file', key: { name: 'u1' }, metadata: { v: 'y' }, artifacts: [] }]);
  expect(await metadataOf('repo-a', 1)).toEqual({ u1: { v: 'x' }, u2: {} });
  expect(await metadataOf('repo-b', 1)).toEqual({ u1: { v: 'x' } });
  const v2 = await store.beginVersion('repo-a');
  expect(await store.associate('repo-a', v2, [{ unitId: 'u1', typeId: 'file' }, { unitId: 'u2', typeId: 'file' }], 'sync')).toEqual({});
  expect(await store.versionChanged('repo-a', v2)).toBe(true);
  await store.commitVersion('repo-a', v2);
  expect(await metadataOf('repo-a', 2)).toEqual({ u1: { v: 'y' }, u2: {} });
  expect(await metadataOf('repo-a', 1)).toEqual({ u1: { v: 'x' }, u2: {} });
  // a version that associates what it already shows changes nothing
  const v3 = await store.beginVersion('repo-a');
  await store.associate('repo-a', v3, [{ unitId: 'u1', typeId: 'file' }, { unitId: 'u2', typeId: 'file' }], 'sync');
  expect(await store.versionChanged('repo-a', v3)).toBe(false);
  await store.rollbackVersion('repo-a', v3);

  await store.close();
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    expect(db.prepare('SELECT unit, rev, metadata FROM unit_revisions').all()).toEqual([{ unit: 1, rev: 2, metadata: '{"v":"x"}' }]);
    expect(db.prepare('SELECT repo, unit, version_added, version_removed, unit_rev FROM repository_content ORDER BY id').all()).toEqual([
      { repo: 1, unit: 1, version_added: 1, version_removed: 2, unit_rev: 2 },
      { repo: 1, unit: 2, version_added: 1, version_removed: MAX, unit_rev: 0 },
      { repo: 2, unit: 1, version_added: 1, version_removed: MAX, unit_rev: 2 },
      { repo: 1, unit: 1, version_added: 2, version_removed: MAX, unit_rev: 3 },
    ]);
  } finally {
    db.close();
  }
});

test('a version that moved rows to new revisions rolls back to exactly the rows it started from', async () => {
  const store = await open();
  const repo = await store.createRepository({ name: 'r' });
  const unit = (v: string) => ({ unitId: 'u1', typeId: 'file', key: { name: 'u1' }, metadata: { v }, artifacts: [] });
  await store.upsertUnits([unit('a')]);
  const v1 = await store.beginVersion(repo.id);
  await store.associate(repo.id, v1, [{ unitId: 'u1', typeId: 'file', source: [1, 2, 3] }], 'sync');
  await store.commitVersion(repo.id, v1);
  const rows = async () => {
    const db = new BetterSqlite3(store.file, { readonly: true });
    try {
      return db.prepare('SELECT id, version_added, version_removed, unit_rev, seen_generation, source_a, source_rev FROM repository_content ORDER BY id').all();
    } finally {
      db.close();
    }
  };
  await store.close();
  const reopened = await open(store.file);
  const before = await rows();
  const v2 = await reopened.beginVersion(repo.id);
  await reopened.upsertUnits([unit('b')]);
  await reopened.associate(repo.id, v2, [{ unitId: 'u1', typeId: 'file', source: [7, 8, 9] }], 'sync');
  expect(await reopened.unassociateUnseen(repo.id, v2, false)).toEqual({});
  await reopened.rollbackVersion(repo.id, v2);
  await reopened.close();
  const after = await rows();
  // the ended row is open again; only the write generation it was seen by may differ
  expect(after.map((row) => ({ ...(row as object), seen_generation: 0 }))).toEqual(before.map((row) => ({ ...(row as object), seen_generation: 0 })));
});

test('another process gets the write lock between the groups of a process that writes without a break', async () => {
  const file = join(dir, 'catalog.db');
  // each write waits for the lock as long as it takes: only a writer that never pauses keeps it out
  const store = await open(file, { busyTimeoutMs: 60_000 });
  await store.createRepository({ name: 'first' });
  // The other process writes units back to back in 200 ms groups, never leaving a gap of its own,
  // until it is killed; only the pause between groups lets this process in.
  const writer = join(dir, 'writer.js');
  const dist = join(__dirname, '..', 'dist', 'store', 'sqlite', 'sqlite-content-store.js');
  await writeFile(
    writer,
    `const { SqliteContentStore } = require(${JSON.stringify(dist)});
     (async () => {
       const store = new SqliteContentStore(process.argv[2], { groupCommit: { maxAgeMs: 200 } });
       await store.init();
       const write = (i) => store.upsertUnits([{ unitId: 'u' + i, typeId: 'file', key: { name: 'u' + i }, metadata: {}, artifacts: [] }]);
       await write(0);
       // its first group is open (and holds the write lock) before this process is told to write
       process.stdout.write('writing\\n');
       for (let i = 1; ; i++) await write(i);
     })();`,
  );
  const child = spawn(process.execPath, [writer, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    for (let i = 0; i < 4; i++) await store.createRepository({ name: `while-busy-${i}` });
    expect(child.exitCode).toBeNull(); // still writing
    expect((await store.listRepositories()).length).toBe(5);
  } finally {
    // it never stops by itself (nor yields to its event loop): SIGKILL, and wait until it is gone
    const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
});

test('a catalog written by schema 7 upgrades to version records and stored times: its versions have no record, its orphans count as old, and none is deleted', async () => {
  const file = join(dir, 'catalog.db');
  const old = new BetterSqlite3(file);
  migrateSchema(old, 7);
  const now = new Date().toISOString();
  const MAX = Number.MAX_SAFE_INTEGER;
  old.exec(`
    INSERT INTO repositories (id, name, latest_version, write_generation, created_at, updated_at, seq)
      VALUES ('repo-a', 'a', 2, 2, '${now}', '${now}', 1);
    INSERT INTO units (unit_id, type_id, key, metadata, artifacts) VALUES
      ('u1', 'file', '{"name":"u1"}', '{}', '[]'), ('u2', 'file', '{"name":"u2"}', '{}', '[["u2.bin","${'b'.repeat(64)}"]]');
    INSERT INTO artifacts (sha256, size) VALUES ('${'b'.repeat(64)}', 3);
    INSERT INTO repository_content (repo, type_id, unit, version_removed, version_added, seen_generation, origin) VALUES
      (1, 'file', 1, ${MAX}, 1, 1, 'sync'),
      (1, 'file', 2, 2, 1, 1, 'sync');
  `);
  old.close();
  const store = await open(file);
  expect((await store.getRepository('a'))!.retainVersions).toBeNull();
  expect(await store.listVersionRecords('repo-a')).toEqual([]);
  expect(await store.countVersionChanges('repo-a', 1, 2)).toEqual({ added: {}, removed: { file: 1 } });
  await store.deleteVersion('repo-a', 1);
  // written before stored times were kept: old, whatever the protection time
  expect(await store.deleteOrphans({ storedBefore: 0 })).toEqual({ units: 1, artifacts: ['b'.repeat(64)] });
});
