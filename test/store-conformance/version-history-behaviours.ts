import type { ContentStore, UnitWrite, VersionChange, VersionRecordInput } from '@tributary/core';
import { ErrorCodes, isTributaryError } from '@tributary/plugin-api';
import { collect, namesIn, rejectionCode, rowsOf, sha256Of, sleep, unitId, unitWrite, type CurrentStore } from './store-fixtures.js';

/** Commits a version of `repoId` holding exactly `units` (upserted first; others removed); returns its number. */
async function commitHolding(store: ContentStore, repoId: string, units: readonly UnitWrite[], origin: 'sync' | 'user' = 'sync'): Promise<number> {
  await store.upsertUnits(units);
  const version = await store.beginVersion(repoId);
  await store.associate(repoId, version, rowsOf(units), origin);
  await store.unassociateUnseen(repoId, version, true);
  await store.commitVersion(repoId, version);
  return version;
}

const file = (name: string, metadata: Record<string, unknown> = {}) => unitWrite('file', name, metadata);

/** Version n: the units of `names`. */
async function repoWithVersions(store: ContentStore, name: string, versions: readonly (readonly string[])[]): Promise<string> {
  const repo = await store.createRepository({ name });
  for (const names of versions) await commitHolding(store, repo.id, names.map((n) => file(n)));
  return repo.id;
}

/** The full views of a version (metadata, origin, files), sorted by name: what must stay as it was. */
async function snapshot(store: ContentStore, repoId: string, version: number) {
  const views = await collect(store.repoUnits(repoId, version));
  return views.map((v) => ({ name: v.key['name'], metadata: v.metadata, origin: v.origin, artifacts: v.artifacts })).sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

const changesOf = (changes: readonly VersionChange[]) =>
  changes.map((c) => `${c.change === 'added' ? '+' : '-'}${String(c.key['name'])}`).sort();

function record(repoId: string, version: number, extra: Partial<VersionRecordInput> = {}): VersionRecordInput {
  return {
    repoId,
    version,
    createdAt: `2024-05-01T10:0${version}:00.000Z`,
    kind: 'sync',
    syncId: `sync-${version}`,
    note: null,
    counts: { 'rpm.package': version, file: 1 },
    base: version - 1,
    added: { 'rpm.package': 1 },
    removed: {},
    ...extra,
  };
}

/**
 * The history of a repository's versions: records of what made each, deleting a version without
 * changing any other, diffs from the rows' version ranges, and the bulk writes that build a version
 * out of committed ones (restore, copy); and what orphan cleanup's protection and the catalog-wide
 * lease rest on.
 */
export function versionHistoryBehaviours(current: CurrentStore): void {
  test('version records are written, replaced and read back (dotted type names too); none for versions never recorded', async () => {
    const store = current();
    const repoId = await repoWithVersions(store, 'r', [['a'], ['a', 'b']]);
    await store.recordVersion(record(repoId, 1));
    await store.recordVersion(record(repoId, 2, { kind: 'rollback', syncId: null, note: 'rollback to version 1' }));
    await store.recordVersion(record(repoId, 2, { kind: 'copy', syncId: null, note: "copy from 'x'" }));
    expect(await store.listVersionRecords(repoId)).toEqual([
      { ...record(repoId, 1), deletedAt: null },
      { ...record(repoId, 2, { kind: 'copy', syncId: null, note: "copy from 'x'" }), deletedAt: null },
    ]);
    expect(await store.getVersionRecord(repoId, 1)).toEqual({ ...record(repoId, 1), deletedAt: null });
    expect(await store.getVersionRecord(repoId, 0)).toBeUndefined();
  });

  test('deleting a middle version keeps the versions before and after it exactly as they were, and drops its publications', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    await commitHolding(store, repo.id, [file('a'), file('b')]);
    // b rewritten (a new revision) and c added in 2, a gone in 3
    await commitHolding(store, repo.id, [file('a'), file('b', { changed: true }), file('c')]);
    await commitHolding(store, repo.id, [file('b', { changed: true }), file('c'), file('d')]);
    const [one, three] = [await snapshot(store, repo.id, 1), await snapshot(store, repo.id, 3)];
    const publication = await store.createPublication({ repoId: repo.id, version: 2, publisherKey: 'k', publisher: 'file', options: {}, createdAt: new Date().toISOString() });
    await store.completePublication(publication, { files: 0, bytes: 0, conflicts: 0, info: {}, completedAt: new Date().toISOString() });
    await store.recordVersion(record(repo.id, 2));

    await store.deleteVersion(repo.id, 2);
    expect(await snapshot(store, repo.id, 1)).toEqual(one);
    expect(await snapshot(store, repo.id, 3)).toEqual(three);
    expect(await store.countRepoUnits(repo.id, 3)).toEqual({ file: 3 });
    expect(await store.listPublications(repo.id)).toEqual([]);
    expect(await store.getVersionRecord(repo.id, 2)).toMatchObject({ ...record(repo.id, 2), deletedAt: expect.any(String) });
    // a later record of the version keeps its deletion mark
    await store.recordVersion(record(repo.id, 2));
    expect((await store.getVersionRecord(repo.id, 2))!.deletedAt).toEqual(expect.any(String));
  });

  test('deleteVersion refuses the latest version and one a distribution pins (TRIBUTARY_ERR_VERSION_IN_USE, naming it), and unknown or deleted ones (TRIBUTARY_ERR_VERSION_NOT_FOUND)', async () => {
    const store = current();
    const repoId = await repoWithVersions(store, 'r', [['a'], ['b'], ['c']]);
    await store.createDistribution({ name: 'pinned', basePath: 'p', repoId, version: 1, publishOptions: {} });
    await store.createDistribution({ name: 'follows', basePath: 'f', repoId, version: null, publishOptions: {} });
    expect(await rejectionCode(store.deleteVersion(repoId, 3))).toBe(ErrorCodes.VERSION_IN_USE);
    let refused: unknown;
    await store.deleteVersion(repoId, 1).catch((error: unknown) => (refused = error));
    expect(isTributaryError(refused, ErrorCodes.VERSION_IN_USE)).toBe(true);
    expect((refused as Error).message).toContain("'pinned'");
    expect((refused as { details: Record<string, unknown> }).details).toMatchObject({ distributions: ['pinned'] });
    expect(await rejectionCode(store.deleteVersion(repoId, 4))).toBe(ErrorCodes.VERSION_NOT_FOUND);
    expect(await rejectionCode(store.deleteVersion(repoId, -1))).toBe(ErrorCodes.VERSION_NOT_FOUND);
    await store.deleteVersion(repoId, 2);
    expect(await rejectionCode(store.deleteVersion(repoId, 2))).toBe(ErrorCodes.VERSION_NOT_FOUND);
    // version 0, the empty version, may go like any other
    await store.deleteVersion(repoId, 0);
    expect((await store.listVersionRecords(repoId)).map((r) => [r.version, r.kind, r.deletedAt !== null])).toEqual([
      [0, 'unknown', true],
      [2, 'unknown', true],
    ]);
    expect(await namesIn(store, repoId, 1)).toEqual(['a']);
    expect(await namesIn(store, repoId, 3)).toEqual(['c']);
  });

  test('rows no remaining version shows are reclaimed as versions are deleted, so their units become orphans; rows a remaining version shows stay', async () => {
    const store = current();
    // x only in 2, y in 2 and 3, z in every version
    const repoId = await repoWithVersions(store, 'r', [['z'], ['x', 'y', 'z'], ['y', 'z'], ['z']]);
    await store.deleteVersion(repoId, 2);
    await store.deleteOrphans();
    expect((await store.findUnits([unitId('file', 'x'), unitId('file', 'y'), unitId('file', 'z')])).map((u) => u.key['name'])).toEqual(['y', 'z']);
    expect(await namesIn(store, repoId, 3)).toEqual(['y', 'z']);
    await store.deleteVersion(repoId, 3);
    await store.deleteOrphans();
    expect((await store.findUnits([unitId('file', 'y'), unitId('file', 'z')])).map((u) => u.key['name'])).toEqual(['z']);
    expect(await namesIn(store, repoId, 1)).toEqual(['z']);
    expect(await namesIn(store, repoId, 4)).toEqual(['z']);
  });

  test('diffVersions streams what the newer version added and what it removed, either way round, page by page; counts agree', async () => {
    const store = current();
    const repoId = await repoWithVersions(store, 'r', [['a', 'b', 'c'], ['b', 'c', 'd'], ['c', 'd', 'e', 'f']]);
    expect(changesOf(await collect(store.diffVersions(repoId, 1, 3, { pageSize: 1 })))).toEqual(['+d', '+e', '+f', '-a', '-b']);
    expect(changesOf(await collect(store.diffVersions(repoId, 3, 1, { pageSize: 2 })))).toEqual(['+a', '+b', '-d', '-e', '-f']);
    expect(changesOf(await collect(store.diffVersions(repoId, 0, 2)))).toEqual(['+b', '+c', '+d']);
    expect(await collect(store.diffVersions(repoId, 2, 2))).toEqual([]);
    const [first] = await collect(store.diffVersions(repoId, 2, 3));
    expect(first).toEqual({ change: 'added', unitId: expect.any(String), typeId: 'file', key: { name: expect.any(String) } });
    expect(await store.countVersionChanges(repoId, 1, 3)).toEqual({ added: { file: 3 }, removed: { file: 2 } });
    expect(await store.countVersionChanges(repoId, 3, 3)).toEqual({ added: {}, removed: {} });
    // unchanged by deleting the version between
    await store.deleteVersion(repoId, 2);
    expect(changesOf(await collect(store.diffVersions(repoId, 1, 3, { pageSize: 2 })))).toEqual(['+d', '+e', '+f', '-a', '-b']);
  });

  test('a unit shown in another revision, or a user-added one becoming so, is no change to a diff', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    await commitHolding(store, repo.id, [file('a'), file('b')]);
    await commitHolding(store, repo.id, [file('a', { v: 2 }), file('b')]);
    expect(await collect(store.diffVersions(repo.id, 1, 2))).toEqual([]);
    expect(await store.countVersionChanges(repo.id, 1, 2)).toEqual({ added: {}, removed: {} });
  });

  test('restoreVersion makes the version being written hold what an older one holds, in the revision and origin it showed', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    await commitHolding(store, repo.id, [file('a', { v: 1 }), file('b')]);
    await commitHolding(store, repo.id, [file('a', { v: 2 }), file('c')], 'user');
    const [one, two] = [await snapshot(store, repo.id, 1), await snapshot(store, repo.id, 2)];
    const v3 = await store.beginVersion(repo.id);
    const changes = await store.restoreVersion(repo.id, v3, 1);
    expect(changes).toEqual({ added: { file: 1 }, removed: { file: 1 } });
    await store.commitVersion(repo.id, v3);
    expect(await snapshot(store, repo.id, 3)).toEqual(one);
    expect(await snapshot(store, repo.id, 3)).toEqual([
      { name: 'a', metadata: { v: 1 }, origin: 'sync', artifacts: [] },
      { name: 'b', metadata: {}, origin: 'sync', artifacts: [] },
    ]);
    expect(await snapshot(store, repo.id, 1)).toEqual(one);
    expect(await snapshot(store, repo.id, 2)).toEqual(two);
    // restoring the version it already holds changes nothing
    const v4 = await store.beginVersion(repo.id);
    expect(await store.restoreVersion(repo.id, v4, 3)).toEqual({ added: {}, removed: {} });
    expect(await store.versionChanged(repo.id, v4)).toBe(false);
    await store.rollbackVersion(repo.id, v4);
    expect(await rejectionCode(store.restoreVersion(repo.id, 2, 1))).toBe(ErrorCodes.STORE);
  });

  test('a restored version rolled back leaves the repository as it was', async () => {
    const store = current();
    const repoId = await repoWithVersions(store, 'r', [['a'], ['b']]);
    const v3 = await store.beginVersion(repoId);
    await store.restoreVersion(repoId, v3, 1);
    await store.rollbackVersion(repoId, v3);
    expect(await namesIn(store, repoId, 2)).toEqual(['b']);
    expect(await namesIn(store, repoId, 3)).toEqual(['b']);
  });

  test('copyContent adds units as the source version shows them (its revision), user-added; present ones in that revision are left', async () => {
    const store = current();
    const source = await store.createRepository({ name: 'src' });
    await commitHolding(store, source.id, [file('a', { v: 1 }), file('b')]);
    // written anew since: the source's version 1 still shows v 1
    await store.upsertUnits([file('a', { v: 2 })]);
    const target = await repoWithVersions(store, 'dst', [['b']]);
    const version = await store.beginVersion(target);
    const refs = [file('a'), file('b'), file('not-in-source')].map(({ unitId: id, typeId }) => ({ unitId: id, typeId }));
    await store.upsertUnits([file('not-in-source')]);
    expect(await store.copyContent(target, version, { repoId: source.id, version: 1 }, refs)).toEqual({ added: { file: 1 }, replaced: {} });
    // again in the same version: nothing more
    expect(await store.copyContent(target, version, { repoId: source.id, version: 1 }, refs)).toEqual({ added: {}, replaced: {} });
    await store.commitVersion(target, version);
    expect(await snapshot(store, target, 2)).toEqual([
      { name: 'a', metadata: { v: 1 }, origin: 'user', artifacts: [] },
      { name: 'b', metadata: {}, origin: 'sync', artifacts: [] },
    ]);
    expect(await snapshot(store, target, 1)).toEqual([{ name: 'b', metadata: {}, origin: 'sync', artifacts: [] }]);
  });

  test('copyContent shows a present unit in the source revision instead of its own (replaced)', async () => {
    const store = current();
    const source = await store.createRepository({ name: 'src' });
    await commitHolding(store, source.id, [file('a', { v: 1 })]);
    const target = await store.createRepository({ name: 'dst' });
    await commitHolding(store, target.id, [file('a', { v: 2 })]);
    const version = await store.beginVersion(target.id);
    const counts = await store.copyContent(target.id, version, { repoId: source.id, version: 1 }, [{ unitId: unitId('file', 'a'), typeId: 'file' }]);
    expect(counts).toEqual({ added: {}, replaced: { file: 1 } });
    await store.commitVersion(target.id, version);
    expect(await snapshot(store, target.id, 2)).toEqual([{ name: 'a', metadata: { v: 1 }, origin: 'user', artifacts: [] }]);
    expect(await snapshot(store, target.id, 1)).toEqual([{ name: 'a', metadata: { v: 2 }, origin: 'sync', artifacts: [] }]);
  });

  test('copyContent of a unit the catalog does not hold is TRIBUTARY_ERR_INVALID_ARGUMENT', async () => {
    const store = current();
    const source = await repoWithVersions(store, 'src', [['a']]);
    const target = await store.createRepository({ name: 'dst' });
    const version = await store.beginVersion(target.id);
    expect(await rejectionCode(store.copyContent(target.id, version, { repoId: source, version: 1 }, [{ unitId: unitId('file', 'ghost'), typeId: 'file' }]))).toBe(
      ErrorCodes.INVALID_ARGUMENT,
    );
  });

  test('catalogUnits streams every unit of one type, in repositories or not, page by page', async () => {
    const store = current();
    await repoWithVersions(store, 'r', [['a', 'b']]);
    await store.upsertUnits([file('orphan', { o: true }), unitWrite('other.type', 'x')]);
    const units = await collect(store.catalogUnits('file', { pageSize: 2 }));
    expect(units.map((u) => [u.key['name'], u.typeId]).sort()).toEqual([
      ['a', 'file'],
      ['b', 'file'],
      ['orphan', 'file'],
    ]);
    expect(units.find((u) => u.key['name'] === 'orphan')).toEqual({ unitId: unitId('file', 'orphan'), typeId: 'file', key: { name: 'orphan' }, metadata: { o: true } });
    expect(await collect(store.catalogUnits('none'))).toEqual([]);
  });

  test('deleteOrphans keeps units and artifacts stored at or after storedBefore (and the artifacts such a unit names)', async () => {
    const store = current();
    const before = Date.now() - 1;
    await store.upsertArtifacts([{ sha256: sha256Of('kept'), size: 4, digests: {} }, { sha256: sha256Of('named'), size: 5, digests: {} }]);
    await store.upsertUnits([unitWrite('file', 'recent', {}, [{ relativePath: 'n', sha256: sha256Of('named') }])]);
    expect(await store.deleteOrphans({ storedBefore: before })).toEqual({ units: 0, artifacts: [] });
    await sleep(5);
    const removed = await store.deleteOrphans({ storedBefore: Date.now() + 1 });
    expect(removed.units).toBe(1);
    expect(removed.artifacts.sort()).toEqual([sha256Of('kept'), sha256Of('named')].sort());
  });

  test('a catalog lease is held by one holder until released or expired; renewal needs the holder', async () => {
    const store = current();
    expect(await store.getCatalogLease('orphan-cleanup')).toBeUndefined();
    expect(await store.acquireCatalogLease('orphan-cleanup', 'h1', 60_000)).toBe(true);
    expect(await store.acquireCatalogLease('orphan-cleanup', 'h2', 60_000)).toBe(false);
    expect(await store.acquireCatalogLease('orphan-cleanup', 'h1', 60_000)).toBe(true);
    expect(await store.acquireCatalogLease('another', 'h2', 60_000)).toBe(true);
    expect(await store.renewCatalogLease('orphan-cleanup', 'h2', 60_000)).toBe(false);
    expect(await store.renewCatalogLease('orphan-cleanup', 'h1', 60_000)).toBe(true);
    expect(await store.getCatalogLease('orphan-cleanup')).toEqual({ name: 'orphan-cleanup', holder: 'h1', expiresAt: expect.any(Number) });
    await store.releaseCatalogLease('orphan-cleanup', 'h2');
    expect((await store.getCatalogLease('orphan-cleanup'))?.holder).toBe('h1');
    await store.releaseCatalogLease('orphan-cleanup', 'h1');
    expect(await store.getCatalogLease('orphan-cleanup')).toBeUndefined();
    expect(await store.acquireCatalogLease('short', 'h1', 1)).toBe(true);
    await sleep(10);
    expect(await store.acquireCatalogLease('short', 'h2', 60_000)).toBe(true);
  });

  test('retainVersions is kept on the repository record; anything but a positive integer or null is TRIBUTARY_ERR_INVALID_ARGUMENT', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r', retainVersions: 3 });
    expect(repo.retainVersions).toBe(3);
    expect((await store.getRepository('r'))!.retainVersions).toBe(3);
    expect((await store.updateRepository(repo.id, { retainVersions: 1 })).retainVersions).toBe(1);
    expect((await store.updateRepository(repo.id, { description: 'd' })).retainVersions).toBe(1);
    expect((await store.updateRepository(repo.id, { retainVersions: null })).retainVersions).toBeNull();
    expect((await store.getRepositoryById(repo.id))!.retainVersions).toBeNull();
    expect((await store.createRepository({ name: 'plain' })).retainVersions).toBeNull();
    expect(await rejectionCode(store.updateRepository(repo.id, { retainVersions: 0 }))).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(await rejectionCode(store.createRepository({ name: 'bad', retainVersions: 1.5 }))).toBe(ErrorCodes.INVALID_ARGUMENT);
  });
}
