import { ErrorCodes } from '@tributary/plugin-api';
import { rejectionCode, sleep, type CurrentStore } from './store-fixtures.js';

export function repositoryBehaviours(current: CurrentStore): void {
  test('createRepository stores the settings and starts at the empty version 0', async () => {
    const store = current();
    const created = await store.createRepository({
      name: 'epel',
      importer: 'rpm',
      feedUrl: 'http://127.0.0.1:1/epel/',
      config: { gpg: { check: true }, arches: ['x86_64'] },
      description: 'Extra Packages',
    });
    expect(created).toMatchObject({
      name: 'epel',
      importer: 'rpm',
      feedUrl: 'http://127.0.0.1:1/epel/',
      config: { gpg: { check: true }, arches: ['x86_64'] },
      description: 'Extra Packages',
      latestVersion: 0,
    });
    expect(typeof created.id).toBe('string');
    expect(Number.isNaN(Date.parse(created.createdAt))).toBe(false);
    expect(await store.getRepository('epel')).toEqual(created);
    expect(await store.getRepository('nope')).toBeUndefined();
    expect(await store.countRepoUnits(created.id, 0)).toEqual({});
  });

  test('getRepositoryById finds a repository by its id, and nothing for an unknown or deleted one', async () => {
    const store = current();
    const created = await store.createRepository({ name: 'by-id', importer: 'file', config: { a: 1 } });
    const other = await store.createRepository({ name: 'other' });
    expect(await store.getRepositoryById(created.id)).toEqual(created);
    expect(await store.getRepositoryById(other.id)).toEqual(other);
    expect(await store.getRepositoryById('no-such-id')).toBeUndefined();
    // a name is not an id
    expect(await store.getRepositoryById('by-id')).toBeUndefined();
    await store.deleteRepository(created.id);
    expect(await store.getRepositoryById(created.id)).toBeUndefined();
  });

  test('a taken name is refused with TRIBUTARY_ERR_REPO_EXISTS and the first repository is untouched', async () => {
    const store = current();
    const first = await store.createRepository({ name: 'dup', importer: 'file' });
    expect(await rejectionCode(store.createRepository({ name: 'dup', importer: 'rpm' }))).toBe(ErrorCodes.REPO_EXISTS);
    expect(await store.listRepositories()).toEqual([first]);
  });

  test('listRepositories returns every repository', async () => {
    const store = current();
    await store.createRepository({ name: 'b' });
    await store.createRepository({ name: 'a' });
    expect((await store.listRepositories()).map((r) => r.name).sort()).toEqual(['a', 'b']);
  });

  test('updateRepository changes settings but never the version pointer', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r', importer: 'file', feedUrl: 'http://a/' });
    await store.commitVersion(repo.id, await store.beginVersion(repo.id));
    const updated = await store.updateRepository(repo.id, { feedUrl: 'http://b/', config: { x: 1 } });
    expect(updated).toMatchObject({ id: repo.id, name: 'r', importer: 'file', feedUrl: 'http://b/', config: { x: 1 }, latestVersion: 1 });
    expect(await store.getRepository('r')).toMatchObject({ feedUrl: 'http://b/', config: { x: 1 }, latestVersion: 1 });
  });

  test('updateRepository of an unknown id is TRIBUTARY_ERR_REPO_NOT_FOUND; renaming onto a taken name is REPO_EXISTS', async () => {
    const store = current();
    const a = await store.createRepository({ name: 'a' });
    await store.createRepository({ name: 'b' });
    expect(await rejectionCode(store.updateRepository('no-such-id', { importer: 'x' }))).toBe(ErrorCodes.REPO_NOT_FOUND);
    expect(await rejectionCode(store.updateRepository(a.id, { name: 'b' }))).toBe(ErrorCodes.REPO_EXISTS);
    expect(await store.getRepository('a')).toMatchObject({ id: a.id });
  });

  test('deleteRepository removes the repository, its history and its lease; false for an unknown id', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'gone' });
    await store.acquireLease(repo.id, 'host-a', 60_000);
    await store.startSyncRecord({ repoId: repo.id, importer: 'file', settingsHash: 'h', version: 1, startedAt: new Date().toISOString() });
    expect(await store.deleteRepository(repo.id)).toBe(true);
    expect(await store.getRepository('gone')).toBeUndefined();
    expect(await store.listSyncRecords(repo.id)).toEqual([]);
    expect(await store.getLease(repo.id)).toBeUndefined();
    expect(await store.deleteRepository(repo.id)).toBe(false);
    // the name is free again
    await expect(store.createRepository({ name: 'gone' })).resolves.toMatchObject({ latestVersion: 0 });
  });
}

export function leaseBehaviours(current: CurrentStore): void {
  test('a live lease excludes other holders; its holder may take it again; release frees it', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    expect(await store.acquireLease(repo.id, 'host-a', 60_000)).toBe(true);
    expect(await store.acquireLease(repo.id, 'host-b', 60_000)).toBe(false);
    expect(await store.acquireLease(repo.id, 'host-a', 60_000)).toBe(true);
    expect(await store.getLease(repo.id)).toMatchObject({ repoId: repo.id, holder: 'host-a' });
    await store.releaseLease(repo.id, 'host-b'); // not the holder: nothing happens
    expect(await store.acquireLease(repo.id, 'host-b', 60_000)).toBe(false);
    await store.releaseLease(repo.id, 'host-a');
    expect(await store.getLease(repo.id)).toBeUndefined();
    expect(await store.acquireLease(repo.id, 'host-b', 60_000)).toBe(true);
  });

  test('of many simultaneous acquirers exactly one wins', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.acquireLease(repo.id, `host-${i}`, 60_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(await store.getLease(repo.id)).toMatchObject({ holder: `host-${winner}` });
  });

  test('leases are per repository', async () => {
    const store = current();
    const one = await store.createRepository({ name: 'one' });
    const two = await store.createRepository({ name: 'two' });
    expect(await store.acquireLease(one.id, 'host-a', 60_000)).toBe(true);
    expect(await store.acquireLease(two.id, 'host-b', 60_000)).toBe(true);
  });

  test('an expired lease is taken over, and its former holder can no longer renew it', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    expect(await store.acquireLease(repo.id, 'crashed-host', 30)).toBe(true);
    await sleep(80);
    expect(await store.acquireLease(repo.id, 'host-b', 60_000)).toBe(true);
    expect(await store.renewLease(repo.id, 'crashed-host', 60_000)).toBe(false);
    expect(await store.getLease(repo.id)).toMatchObject({ holder: 'host-b' });
  });

  test('renewLease pushes the expiry out for the holder', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    await store.acquireLease(repo.id, 'host-a', 1_000);
    const before = (await store.getLease(repo.id))!.expiresAt;
    expect(await store.renewLease(repo.id, 'host-a', 600_000)).toBe(true);
    const after = (await store.getLease(repo.id))!.expiresAt;
    expect(after).toBeGreaterThanOrEqual(before + 500_000);
    expect(await store.renewLease(repo.id, 'host-b', 600_000)).toBe(false);
    expect(await store.acquireLease(repo.id, 'host-b', 60_000)).toBe(false);
  });
}
