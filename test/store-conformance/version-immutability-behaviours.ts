import type { ContentStore, RepoUnitView, UnitWrite } from '@tributary/core';
import { collect, rowsOf, sha256Of, unitWrite, type CurrentStore } from './store-fixtures.js';

/**
 * A committed version never changes: units are shared by key across repositories and versions, and
 * writing a unit again (new metadata, files or remote sources) must not alter what an earlier
 * version returns: its rows pin the unit revision they show.
 */
export function versionImmutabilityBehaviours(current: CurrentStore): void {
  const remote = 'https://a.example/';
  const bytes = (text: string) => ({ sha256: sha256Of(text), size: text.length, digests: {} });
  /** Unit `u` as version 1 stores it: metadata A, file p1 (stored bytes "one"), a remote source. */
  const first = (): UnitWrite => ({
    ...unitWrite('file', 'u', { size: 3, checksum: 'A' }, [{ relativePath: 'p1', sha256: sha256Of('one') }]),
    remotes: [{ relativePath: 'p1', remote, urls: [`${remote}old/p1`], size: 3, digests: {} }],
  });
  /** The same unit key written again: metadata B, the file's bytes changed, another file, other urls. */
  const second = (): UnitWrite => ({
    ...unitWrite('file', 'u', { size: 4, checksum: 'B', provides: ['x'] }, [
      { relativePath: 'p1', sha256: sha256Of('two') },
      { relativePath: 'p2', sha256: null },
    ]),
    remotes: [
      { relativePath: 'p1', remote, urls: [`${remote}new/p1`], size: 4, digests: {} },
      { relativePath: 'p2', remote, urls: [`${remote}new/p2`], size: 9, digests: {} },
    ],
  });
  const other = unitWrite('file', 'other', { size: 1 });

  async function versionWith(store: ContentStore, repoId: string, units: readonly UnitWrite[]): Promise<number> {
    await store.upsertUnits(units);
    const version = await store.beginVersion(repoId);
    await store.associate(repoId, version, rowsOf(units), 'sync');
    await store.commitVersion(repoId, version);
    return version;
  }
  const units = (store: ContentStore, repoId: string, version: number) => collect(store.repoUnits(repoId, version));
  const fingerprints = async (store: ContentStore, repoId: string, version: number) =>
    (await collect(store.repoUnitFingerprints(repoId, version, remote))).flatMap((page) => [...page]);
  const unitNamed = (views: readonly RepoUnitView[], name: string) => views.find((view) => view.key['name'] === name)!;

  async function setUp(store: ContentStore) {
    await store.upsertArtifacts([bytes('one'), bytes('two')]);
    const repo = await store.createRepository({ name: 'r' });
    const v1 = await versionWith(store, repo.id, [first(), other]);
    const view = await units(store, repo.id, v1);
    const prints = await fingerprints(store, repo.id, v1);
    expect(unitNamed(view, 'u')).toMatchObject({
      metadata: { size: 3, checksum: 'A' },
      artifacts: [{ relativePath: 'p1', sha256: sha256Of('one'), stored: true, remoteUrls: [`${remote}old/p1`] }],
    });
    return { repo, v1, view, prints };
  }

  test('a later version writing the unit with new metadata, files and remote sources leaves the earlier version as it was', async () => {
    const store = current();
    const { repo, v1, view, prints } = await setUp(store);
    const v2 = await store.beginVersion(repo.id);
    await store.upsertUnits([second()]);
    // present already: showing its new revision is no addition
    expect(await store.associate(repo.id, v2, rowsOf([second(), other]), 'sync')).toEqual({});
    expect(await store.unassociateUnseen(repo.id, v2, false)).toEqual({});
    await store.commitVersion(repo.id, v2);

    expect(await units(store, repo.id, v1)).toEqual(view);
    expect(await fingerprints(store, repo.id, v1)).toEqual(prints);
    const now = unitNamed(await units(store, repo.id, v2), 'u');
    expect(now.metadata).toEqual({ size: 4, checksum: 'B', provides: ['x'] });
    expect(now.artifacts.map((a) => [a.relativePath, a.sha256, a.remoteUrls])).toEqual([
      ['p1', sha256Of('two'), [`${remote}new/p1`]],
      ['p2', null, [`${remote}new/p2`]],
    ]);
    expect(await store.countRepoUnits(repo.id, v2)).toEqual({ file: 2 });
    expect((await collect(store.repoUnitKeys(repo.id, v2))).length).toBe(2);
    // the fingerprint of version 2 is that of writing the new revision
    const index = await fingerprints(store, repo.id, v2);
    expect(index).not.toEqual(prints);
  });

  test('remote sources written on their own, or by another repository, leave a committed version as it was', async () => {
    const store = current();
    const { repo, v1, view, prints } = await setUp(store);
    await store.upsertRemoteArtifacts([{ unitId: first().unitId, relativePath: 'p1', remote, urls: [`${remote}moved/p1`], size: 3, digests: {} }]);
    expect(await units(store, repo.id, v1)).toEqual(view);
    const elsewhere = await store.createRepository({ name: 'elsewhere' });
    const e1 = await versionWith(store, elsewhere.id, [second()]);
    expect(unitNamed(await units(store, elsewhere.id, e1), 'u').metadata).toEqual({ size: 4, checksum: 'B', provides: ['x'] });
    expect(await units(store, repo.id, v1)).toEqual(view);
    expect(await fingerprints(store, repo.id, v1)).toEqual(prints);
    // a version of r that does not touch u carries the revision version 1 showed
    const v2 = await store.beginVersion(repo.id);
    await store.associate(repo.id, v2, rowsOf([other]), 'sync');
    await store.commitVersion(repo.id, v2);
    expect(unitNamed(await units(store, repo.id, v2), 'u')).toEqual(unitNamed(view, 'u'));
  });

  test('rolling back a version that moved rows to a new revision restores what the base version shows', async () => {
    const store = current();
    const { repo, v1, view, prints } = await setUp(store);
    const v2 = await store.beginVersion(repo.id);
    await store.upsertUnits([second()]);
    await store.associate(repo.id, v2, rowsOf([second()]), 'sync');
    // associating it again in the same version changes nothing more
    await store.associate(repo.id, v2, rowsOf([second()]), 'sync');
    await store.rollbackVersion(repo.id, v2);
    expect(await units(store, repo.id, v1)).toEqual(view);
    expect(await fingerprints(store, repo.id, v1)).toEqual(prints);
    // the next attempt starts from version 1's rows again
    const again = await store.beginVersion(repo.id);
    expect(again).toBe(v2);
    await store.commitVersion(repo.id, again);
    expect(await units(store, repo.id, again)).toEqual(view);
    expect(await store.countRepoUnits(repo.id, again)).toEqual({ file: 2 });
  });

  test('a unit written twice within one version shows its last write there, and version 1 its first', async () => {
    const store = current();
    const { repo, v1, view } = await setUp(store);
    const v2 = await store.beginVersion(repo.id);
    await store.upsertUnits([second()]);
    await store.associate(repo.id, v2, rowsOf([second()]), 'sync');
    const third = { ...second(), metadata: { size: 5, checksum: 'C' } };
    await store.upsertUnits([third]);
    await store.associate(repo.id, v2, rowsOf([third]), 'sync');
    await store.commitVersion(repo.id, v2);
    expect(await units(store, repo.id, v1)).toEqual(view);
    expect(unitNamed(await units(store, repo.id, v2), 'u').metadata).toEqual({ size: 5, checksum: 'C' });
    expect(await store.countRepoUnits(repo.id, v2)).toEqual({ file: 2 });
  });

  test('orphan cleanup keeps revisions versions still show, and their files; it removes them with the last such version', async () => {
    const store = current();
    const { repo } = await setUp(store);
    const keeper = await store.createRepository({ name: 'keeper' });
    const k1 = await versionWith(store, keeper.id, [second()]);
    // bytes "one" are only in the revision repository r's version 1 shows
    expect(await store.deleteOrphans()).toEqual({ units: 0, artifacts: [] });
    expect(unitNamed(await units(store, repo.id, 1), 'u').artifacts[0]).toMatchObject({ sha256: sha256Of('one'), stored: true });

    await store.deleteRepository(repo.id);
    const result = await store.deleteOrphans();
    expect(result.artifacts).toEqual([sha256Of('one')]);
    expect(result.units).toBe(1); // "other" was only in r
    const kept = unitNamed(await units(store, keeper.id, k1), 'u');
    expect(kept.metadata).toEqual({ size: 4, checksum: 'B', provides: ['x'] });
    expect(kept.artifacts[0]).toMatchObject({ sha256: sha256Of('two'), stored: true });
  });

  test('once no version shows what a unit was written to last, orphan cleanup takes it back to the newest state a version shows', async () => {
    const store = current();
    const { repo, v1, view, prints } = await setUp(store);
    const writer = await store.createRepository({ name: 'writer' });
    await versionWith(store, writer.id, [second()]);
    await store.deleteRepository(writer.id);
    // bytes "two" were only in the state the deleted repository showed
    expect(await store.deleteOrphans()).toEqual({ units: 0, artifacts: [sha256Of('two')] });
    expect(await units(store, repo.id, v1)).toEqual(view);
    expect(await fingerprints(store, repo.id, v1)).toEqual(prints);
    const [found] = await store.findUnits([first().unitId]);
    expect(found).toMatchObject({ metadata: { size: 3, checksum: 'A' }, artifacts: [{ relativePath: 'p1', sha256: sha256Of('one') }] });
    // the unit written again from there moves on as usual
    const v2 = await versionWith(store, repo.id, [second()]);
    expect(unitNamed(await units(store, repo.id, v2), 'u').metadata).toEqual({ size: 4, checksum: 'B', provides: ['x'] });
    expect(await units(store, repo.id, v1)).toEqual(view);
  });
}
