import { collect, manyUnits, repoWithVersion1, rowsOf, unitWrite, type CurrentStore } from './store-fixtures.js';

/** More than any sensible page of a store's key stream, so every store pages at least twice. */
const MANY = 2_500;

export function streamingBehaviours(current: CurrentStore): void {
  test(`repoUnitKeys streams each of ${MANY} units exactly once, with key and origin, and filters by type`, async () => {
    const store = current();
    const units = [...manyUnits('file', MANY), ...manyUnits('rpm.package', 3, 'p')];
    const repoId = await repoWithVersion1(store, 'r', units);
    const keys = await collect(store.repoUnitKeys(repoId, 1));
    expect(keys).toHaveLength(MANY + 3);
    expect(new Set(keys.map((k) => k.unitId)).size).toBe(MANY + 3);
    const u42 = units[42]!;
    expect(keys.find((k) => k.unitId === u42.unitId)).toMatchObject({ unitId: u42.unitId, typeId: 'file', key: u42.key, origin: 'sync' });
    const rpms = await collect(store.repoUnitKeys(repoId, 1, 'rpm.package'));
    expect(rpms.map((k) => k.key['name']).sort()).toEqual(['p-00000', 'p-00001', 'p-00002']);
    expect(await collect(store.repoUnitKeys(repoId, 1, 'no.such.type'))).toEqual([]);
  });

  test('repoUnits pages through a version type by type, each unit once, in an order pages agree on', async () => {
    const store = current();
    const units = [...manyUnits('file', MANY), ...manyUnits('a.first', 5, 'f')];
    const repoId = await repoWithVersion1(store, 'r', units);
    const views = await collect(store.repoUnits(repoId, 1, { pageSize: 1_000 }));
    expect(views).toHaveLength(MANY + 5);
    const types = views.map((v) => v.typeId);
    expect(types).toEqual([...types].sort());
    const order = views.map((v) => v.unitId);
    expect(new Set(order).size).toBe(MANY + 5);
    // keyset pages of another size walk the same order
    expect((await collect(store.repoUnits(repoId, 1, { pageSize: 333 }))).map((v) => v.unitId)).toEqual(order);
    expect((await collect(store.repoUnitKeys(repoId, 1))).map((k) => k.unitId)).toEqual(order);
    expect(views[0]).toMatchObject({ typeId: 'a.first', origin: 'sync', artifacts: [] });
    const some = views.find((v) => v.unitId === units[7]!.unitId)!;
    expect(some).toMatchObject({ key: units[7]!.key, metadata: { i: 7 } });
  });

  test('repoUnits honours small page sizes and the type filter', async () => {
    const store = current();
    const units = [...manyUnits('file', 20), ...manyUnits('other', 4, 'o')];
    const repoId = await repoWithVersion1(store, 'r', units);
    expect(await collect(store.repoUnits(repoId, 1, { pageSize: 7 }))).toHaveLength(24);
    const others = await collect(store.repoUnits(repoId, 1, { typeId: 'other', pageSize: 3 }));
    expect(others.map((v) => v.key['name']).sort()).toEqual(['o-00000', 'o-00001', 'o-00002', 'o-00003']);
    expect(await collect(store.repoUnits(repoId, 1, { pageSize: 4 }))).toHaveLength(24);
  });

  test('the store accepts writes while a stream of the committed version is being read', async () => {
    const store = current();
    const units = manyUnits('file', MANY);
    const repoId = await repoWithVersion1(store, 'r', units);
    const extra = manyUnits('file', 10, 'extra');
    await store.upsertUnits(extra);
    const v2 = await store.beginVersion(repoId);
    let read = 0;
    for await (const key of store.repoUnitKeys(repoId, 1)) {
      read++;
      if (read % 500 === 0) {
        // what a sync does while it streams the current keys: write the next version
        await store.unassociate(repoId, v2, [key.unitId]);
        await store.associate(repoId, v2, rowsOf(extra.slice(read / 500 - 1, read / 500)), 'sync');
        await store.upsertUnits([unitWrite('file', `written-${read}`)]);
      }
    }
    expect(read).toBe(MANY);
    expect(await store.countRepoUnits(repoId, 1)).toEqual({ file: MANY });
    expect(await store.countRepoUnits(repoId, v2)).toEqual({ file: MANY });
  });
}

export function batchingBehaviours(current: CurrentStore): void {
  test('5,000 units cost a bounded number of round trips per call, not one per unit', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const units = manyUnits('file', 5_000);
    const version = await store.beginVersion(repo.id);
    const costs: Record<string, number> = {};
    const measure = async (name: string, call: () => Promise<unknown>) => {
      const before = store.stats.roundTrips;
      await call();
      costs[name] = store.stats.roundTrips - before;
    };
    await measure('upsertUnits', async () => expect(await store.upsertUnits(units)).toEqual(units.map(() => 'created')));
    await measure('findUnits', async () => expect(await store.findUnits(units.map((u) => u.unitId))).toHaveLength(5_000));
    await measure('associate', async () => expect(await store.associate(repo.id, version, rowsOf(units), 'sync')).toEqual({ file: 5_000 }));
    await measure('unassociate', async () => store.unassociate(repo.id, version, units.slice(0, 2_500).map((u) => u.unitId)));
    for (const [call, trips] of Object.entries(costs)) {
      // at most one round trip per 100 units
      expect([call, trips >= 1 && trips <= 50]).toEqual([call, true]);
    }
    expect(await store.countRepoUnits(repo.id, version)).toEqual({ file: 2_500 });
  });
}
