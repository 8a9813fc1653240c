import type { CountsByType } from '@tributary/plugin-api';
import { collect, namesIn, repoWithVersion1, rowsOf, unitId, unitWrite, type CurrentStore } from './store-fixtures.js';

/** Counts without zero entries: a store may or may not list types it counted nothing for. */
const nonZero = (counts: CountsByType) => Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0));
const row = (typeId: string, name: string) => ({ unitId: unitId(typeId, name), typeId });

export function contentBehaviours(current: CurrentStore): void {
  test('associate counts only units newly added, by type', async () => {
    const store = current();
    const units = [unitWrite('file', 'a'), unitWrite('file', 'b'), unitWrite('rpm.package', 'p')];
    const repo = await store.createRepository({ name: 'r' });
    await store.upsertUnits(units);
    const v1 = await store.beginVersion(repo.id);
    expect(nonZero(await store.associate(repo.id, v1, rowsOf(units), 'sync'))).toEqual({ file: 2, 'rpm.package': 1 });
    expect(nonZero(await store.associate(repo.id, v1, rowsOf(units), 'sync'))).toEqual({});
    await store.commitVersion(repo.id, v1);
    const v2 = await store.beginVersion(repo.id);
    const c = unitWrite('file', 'c');
    await store.upsertUnits([c]);
    expect(nonZero(await store.associate(repo.id, v2, rowsOf([...units, c]), 'sync'))).toEqual({ file: 1 });
    expect(await store.countRepoUnits(repo.id, v2)).toEqual({ file: 3, 'rpm.package': 1 });
  });

  test('associating a unit the catalog does not hold is refused, and the version keeps what it had', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const a = unitWrite('file', 'a');
    await store.upsertUnits([a]);
    const v1 = await store.beginVersion(repo.id);
    await store.associate(repo.id, v1, rowsOf([a]), 'sync');
    const refused = await store.associate(repo.id, v1, [row('file', 'nowhere'), row('file', 'b')], 'sync').then(
      () => undefined,
      (error: unknown) => error as { code?: string },
    );
    expect(refused?.code).toBe('TRIBUTARY_ERR_INVALID_ARGUMENT');
    await store.commitVersion(repo.id, v1);
    expect(await namesIn(store, repo.id, v1)).toEqual(['a']);
  });

  test('a user-associated unit stays user-added when a sync associates it again', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const x = unitWrite('file', 'x');
    await store.upsertUnits([x]);
    const v1 = await store.beginVersion(repo.id);
    await store.associate(repo.id, v1, rowsOf([x]), 'user');
    await store.commitVersion(repo.id, v1);
    const v2 = await store.beginVersion(repo.id);
    await store.associate(repo.id, v2, rowsOf([x]), 'sync');
    expect((await collect(store.repoUnitKeys(repo.id, v2))).map((k) => k.origin)).toEqual(['user']);
  });

  test('a user associating a synced unit makes it user-added from that version on', async () => {
    const store = current();
    const repoId = await repoWithVersion1(store, 'r', [unitWrite('file', 'x')]);
    const v2 = await store.beginVersion(repoId);
    expect(nonZero(await store.associate(repoId, v2, [row('file', 'x')], 'user'))).toEqual({});
    await store.commitVersion(repoId, v2);
    expect((await collect(store.repoUnitKeys(repoId, 2))).map((k) => k.origin)).toEqual(['user']);
    expect((await collect(store.repoUnitKeys(repoId, 1))).map((k) => k.origin)).toEqual(['sync']);
  });

  test('unassociate removes units from the version being written and counts them by type', async () => {
    const store = current();
    const repoId = await repoWithVersion1(store, 'r', [unitWrite('file', 'a'), unitWrite('file', 'b'), unitWrite('rpm.package', 'p')]);
    const v2 = await store.beginVersion(repoId);
    const removed = await store.unassociate(repoId, v2, [unitId('file', 'a'), unitId('rpm.package', 'p'), unitId('file', 'not-there')]);
    expect(nonZero(removed)).toEqual({ file: 1, 'rpm.package': 1 });
    expect(await namesIn(store, repoId, v2)).toEqual(['b']);
    expect(await namesIn(store, repoId, 1)).toEqual(['a', 'b', 'p']);
    expect(nonZero(await store.unassociate(repoId, v2, [unitId('file', 'a')]))).toEqual({});
  });

  test('unassociating a unit added by the same version takes it out again', async () => {
    const store = current();
    const repoId = await repoWithVersion1(store, 'r', [unitWrite('file', 'a')]);
    const n = unitWrite('file', 'n');
    await store.upsertUnits([n]);
    const v2 = await store.beginVersion(repoId);
    await store.associate(repoId, v2, rowsOf([n]), 'sync');
    expect(nonZero(await store.unassociate(repoId, v2, [n.unitId]))).toEqual({ file: 1 });
    expect(await namesIn(store, repoId, v2)).toEqual(['a']);
    await store.commitVersion(repoId, v2);
    expect(await namesIn(store, repoId, 2)).toEqual(['a']);
  });

  test('re-associating a unit the same version removed restores it with its origin', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const u = unitWrite('file', 'u');
    await store.upsertUnits([u]);
    const v1 = await store.beginVersion(repo.id);
    await store.associate(repo.id, v1, rowsOf([u]), 'user');
    await store.commitVersion(repo.id, v1);
    const v2 = await store.beginVersion(repo.id);
    await store.unassociate(repo.id, v2, [u.unitId]);
    await store.associate(repo.id, v2, rowsOf([u]), 'sync');
    await store.commitVersion(repo.id, v2);
    expect((await collect(store.repoUnitKeys(repo.id, 2))).map((k) => [k.key['name'], k.origin])).toEqual([['u', 'user']]);
    expect(await store.countRepoUnits(repo.id, 2)).toEqual({ file: 1 });
  });

  test('a unit removed in one version can be added back in a later one', async () => {
    const store = current();
    const repoId = await repoWithVersion1(store, 'r', [unitWrite('file', 'a')]);
    const v2 = await store.beginVersion(repoId);
    await store.unassociate(repoId, v2, [unitId('file', 'a')]);
    await store.commitVersion(repoId, v2);
    const v3 = await store.beginVersion(repoId);
    expect(nonZero(await store.associate(repoId, v3, [row('file', 'a')], 'sync'))).toEqual({ file: 1 });
    await store.commitVersion(repoId, v3);
    expect([await namesIn(store, repoId, 1), await namesIn(store, repoId, 2), await namesIn(store, repoId, 3)]).toEqual([['a'], [], ['a']]);
  });

  test('unassociateUnseen removes what the previous version had and this one did not see, keeping user-added units', async () => {
    const store = current();
    const units = [unitWrite('file', 'kept'), unitWrite('file', 'gone'), unitWrite('rpm.package', 'gone-too')];
    const repoId = await repoWithVersion1(store, 'r', units);
    const mine = unitWrite('file', 'mine');
    const fresh = unitWrite('file', 'fresh');
    await store.upsertUnits([mine, fresh]);
    const v2 = await store.beginVersion(repoId);
    await store.associate(repoId, v2, rowsOf([mine]), 'user');
    await store.commitVersion(repoId, v2);

    const v3 = await store.beginVersion(repoId);
    await store.associate(repoId, v3, [row('file', 'kept'), { unitId: fresh.unitId, typeId: 'file' }], 'sync');
    expect(nonZero(await store.unassociateUnseen(repoId, v3, false))).toEqual({ file: 1, 'rpm.package': 1 });
    expect(await namesIn(store, repoId, v3)).toEqual(['fresh', 'kept', 'mine']);
    expect(await namesIn(store, repoId, 2)).toEqual(['gone', 'gone-too', 'kept', 'mine']);
    expect(await store.countRepoUnits(repoId, v3)).toEqual({ file: 3 });
  });

  test('unassociateUnseen with includeUserAdded removes user-added units too', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const [mine, synced] = [unitWrite('file', 'mine'), unitWrite('file', 'synced')];
    await store.upsertUnits([mine, synced]);
    const v1 = await store.beginVersion(repo.id);
    await store.associate(repo.id, v1, rowsOf([mine]), 'user');
    await store.associate(repo.id, v1, rowsOf([synced]), 'sync');
    await store.commitVersion(repo.id, v1);
    const v2 = await store.beginVersion(repo.id);
    expect(nonZero(await store.unassociateUnseen(repo.id, v2, true))).toEqual({ file: 2 });
    expect(await namesIn(store, repo.id, v2)).toEqual([]);
    expect(await namesIn(store, repo.id, 1)).toEqual(['mine', 'synced']);
  });

  test('a sync that lists units already present marks them seen, user-added ones too, and keeps their origin', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const [mine, synced, unlisted] = [unitWrite('file', 'mine'), unitWrite('file', 'synced'), unitWrite('file', 'unlisted')];
    await store.upsertUnits([mine, synced, unlisted]);
    const v1 = await store.beginVersion(repo.id);
    await store.associate(repo.id, v1, rowsOf([mine]), 'user');
    await store.associate(repo.id, v1, rowsOf([synced, unlisted]), 'sync');
    await store.commitVersion(repo.id, v1);
    const v2 = await store.beginVersion(repo.id);
    expect(nonZero(await store.associate(repo.id, v2, rowsOf([mine, synced]), 'sync'))).toEqual({});
    expect(nonZero(await store.unassociateUnseen(repo.id, v2, true))).toEqual({ file: 1 });
    await store.commitVersion(repo.id, v2);
    expect((await collect(store.repoUnitKeys(repo.id, 2))).map((k) => [k.key['name'], k.origin]).sort()).toEqual([
      ['mine', 'user'],
      ['synced', 'sync'],
    ]);
  });

  test('countRepoUnits counts a version by type', async () => {
    const store = current();
    const units = [unitWrite('a', '1'), unitWrite('a', '2'), unitWrite('b', '1')];
    const repoId = await repoWithVersion1(store, 'r', units);
    expect(await store.countRepoUnits(repoId, 1)).toEqual({ a: 2, b: 1 });
    expect(await store.countRepoUnits(repoId, 0)).toEqual({});
  });
}
