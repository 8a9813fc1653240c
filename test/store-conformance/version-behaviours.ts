import { ErrorCodes } from '@tributary/plugin-api';
import { collect, namesIn, rejectionCode, repoWithVersion1, rowsOf, unitId, unitWrite, type CurrentStore } from './store-fixtures.js';

const abc = () => [unitWrite('file', 'a'), unitWrite('file', 'b'), unitWrite('file', 'c')];

export function versionBehaviours(current: CurrentStore): void {
  test('beginVersion hands out latest + 1 and commitVersion moves the pointer', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    expect(await store.beginVersion(repo.id)).toBe(1);
    expect((await store.getRepository('r'))!.latestVersion).toBe(0);
    await store.commitVersion(repo.id, 1);
    expect((await store.getRepository('r'))!.latestVersion).toBe(1);
    expect(await store.beginVersion(repo.id)).toBe(2);
  });

  test('commitVersion only moves the pointer from version - 1 (otherwise TRIBUTARY_ERR_STORE, pointer kept)', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    expect(await rejectionCode(store.commitVersion(repo.id, 2))).toBe(ErrorCodes.STORE);
    await store.commitVersion(repo.id, await store.beginVersion(repo.id));
    expect(await rejectionCode(store.commitVersion(repo.id, 1))).toBe(ErrorCodes.STORE);
    expect((await store.getRepository('r'))!.latestVersion).toBe(1);
  });

  test('version calls on an unknown repository are TRIBUTARY_ERR_REPO_NOT_FOUND', async () => {
    const store = current();
    expect(await rejectionCode(store.beginVersion('no-such-id'))).toBe(ErrorCodes.REPO_NOT_FOUND);
  });

  test('readers of version N see none of the changes being written as N + 1', async () => {
    const store = current();
    const repoId = await repoWithVersion1(store, 'r', abc());
    const d = unitWrite('file', 'd');
    await store.upsertUnits([d]);
    const v2 = await store.beginVersion(repoId);
    await store.associate(repoId, v2, rowsOf([d]), 'sync');
    await store.unassociate(repoId, v2, [unitId('file', 'a')]);
    await store.associate(repoId, v2, [{ unitId: unitId('file', 'b'), typeId: 'file' }], 'user');

    expect(await namesIn(store, repoId, 1)).toEqual(['a', 'b', 'c']);
    expect(await store.countRepoUnits(repoId, 1)).toEqual({ file: 3 });
    const v1Units = await collect(store.repoUnits(repoId, 1));
    expect(v1Units.map((u) => [u.key['name'], u.origin])).toEqual(
      expect.arrayContaining([['a', 'sync'], ['b', 'sync'], ['c', 'sync']]),
    );
    expect(await namesIn(store, repoId, v2)).toEqual(['b', 'c', 'd']);

    await store.commitVersion(repoId, v2);
    expect(await namesIn(store, repoId, 1)).toEqual(['a', 'b', 'c']);
    expect(await namesIn(store, repoId, 2)).toEqual(['b', 'c', 'd']);
    const origins = Object.fromEntries((await collect(store.repoUnitKeys(repoId, 2))).map((k) => [k.key['name'], k.origin]));
    expect(origins).toEqual({ b: 'user', c: 'sync', d: 'sync' });
  });

  test('rollbackVersion undoes every change of the version and leaves the pointer', async () => {
    const store = current();
    const repoId = await repoWithVersion1(store, 'r', abc());
    const d = unitWrite('file', 'd');
    await store.upsertUnits([d]);
    const v2 = await store.beginVersion(repoId);
    await store.associate(repoId, v2, rowsOf([d]), 'sync');
    await store.unassociate(repoId, v2, [unitId('file', 'a')]);
    await store.associate(repoId, v2, [{ unitId: unitId('file', 'c'), typeId: 'file' }], 'user');
    await store.rollbackVersion(repoId, v2);

    expect((await store.getRepository('r'))!.latestVersion).toBe(1);
    expect(await namesIn(store, repoId, 1)).toEqual(['a', 'b', 'c']);
    expect(await namesIn(store, repoId, v2)).toEqual(['a', 'b', 'c']);
    expect((await collect(store.repoUnitKeys(repoId, 1))).every((k) => k.origin === 'sync')).toBe(true);
  });

  test('beginVersion first rolls back what a crashed writer left under the same number', async () => {
    const store = current();
    const repoId = await repoWithVersion1(store, 'r', abc());
    const d = unitWrite('file', 'd');
    await store.upsertUnits([d]);
    // a writer that crashes half-way: no rollback, no commit
    const crashed = await store.beginVersion(repoId);
    await store.associate(repoId, crashed, rowsOf([d]), 'sync');
    await store.associate(repoId, crashed, [{ unitId: unitId('file', 'b'), typeId: 'file' }], 'sync');
    await store.unassociate(repoId, crashed, [unitId('file', 'a')]);

    const retry = await store.beginVersion(repoId);
    expect(retry).toBe(crashed);
    expect(await namesIn(store, repoId, retry)).toEqual(['a', 'b', 'c']);
    // the crashed writer's "seen" marks are gone too: nothing is seen by the fresh attempt yet
    expect(await store.unassociateUnseen(repoId, retry, false)).toEqual({ file: 3 });
    expect(await namesIn(store, repoId, retry)).toEqual([]);
    expect(await namesIn(store, repoId, 1)).toEqual(['a', 'b', 'c']);
  });
}
