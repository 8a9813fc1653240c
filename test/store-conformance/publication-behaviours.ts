import type { ContentStore, DistributionInput, PublicationEntry, PublicationInput, PublicationSummary } from '@tributary/core';
import { ErrorCodes } from '@tributary/plugin-api';
import { rejectionCode, repoWithVersion1, sha256Of, unitId, unitWrite, type CurrentStore } from './store-fixtures.js';

const KEY = 'file:0123abcd';

/** An entry of a remote artifact (no stored bytes), unless `extra` says otherwise. */
function entry(path: string, extra: Partial<PublicationEntry> = {}): PublicationEntry {
  return {
    path,
    kind: 'artifact',
    sha256: null,
    size: null,
    digests: { sha256: sha256Of(path) },
    urls: [`http://127.0.0.1:1/feed/${path}`],
    unitId: unitId('file', path),
    ...extra,
  };
}

/** A generated file's entry: stored bytes, no unit. */
function generated(path: string, text: string): PublicationEntry {
  return { path, kind: 'generated', sha256: sha256Of(text), size: text.length, digests: { sha256: sha256Of(text) }, urls: [], unitId: null };
}

function input(repoId: string, version: number, extra: Partial<PublicationInput> = {}): PublicationInput {
  return {
    repoId,
    version,
    publisherKey: KEY,
    publisher: 'file',
    options: { manifest: 'PULP_MANIFEST', 'odd.key': { $x: 1 } },
    createdAt: '2024-05-01T10:00:00.000Z',
    ...extra,
  };
}

function summary(completedAt: string, extra: Partial<PublicationSummary> = {}): PublicationSummary {
  return { files: 1, bytes: 2, conflicts: 0, info: { chose: 'primary', 'dotted.name': ['a'] }, completedAt, ...extra };
}

const at = (minute: number) => `2024-05-01T10:${String(minute).padStart(2, '0')}:00.000Z`;

/** Creates, fills and completes a publication; returns its id. */
async function publish(
  store: ContentStore,
  repoId: string,
  version: number,
  options: { key?: string; entries?: readonly PublicationEntry[]; created?: number; completed?: number; complete?: boolean } = {},
): Promise<string> {
  const id = await store.createPublication(input(repoId, version, { publisherKey: options.key ?? KEY, createdAt: at(options.created ?? 0) }));
  if (options.entries !== undefined) await store.addPublicationEntries(id, options.entries);
  if (options.complete !== false) await store.completePublication(id, summary(at(options.completed ?? options.created ?? 0)));
  return id;
}

const pathsOf = (entries: readonly PublicationEntry[]) => entries.map((e) => e.path);

export function publicationBehaviours(current: CurrentStore): void {
  test('a publication is invisible to findPublication until complete, then found with its summary', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const id = await store.createPublication(input(repo.id, 1));
    expect(typeof id).toBe('string');
    expect(await store.findPublication(repo.id, KEY, 1, true)).toBeUndefined();
    expect(await store.findPublication(repo.id, KEY, 1, false)).toBeUndefined();
    // listed while incomplete, without a summary
    expect(await store.listPublications(repo.id)).toEqual([{ ...input(repo.id, 1), id, complete: false, summary: null }]);

    expect(await store.addPublicationEntries(id, [entry('a.txt'), generated('PULP_MANIFEST', 'manifest')])).toBe(2);
    expect(await store.findPublication(repo.id, KEY, 1, false)).toBeUndefined();
    const done = summary(at(5), { files: 2, bytes: 10, conflicts: 1 });
    await store.completePublication(id, done);
    const record = { ...input(repo.id, 1), id, complete: true, summary: done };
    expect(await store.findPublication(repo.id, KEY, 1, true)).toEqual(record);
    expect(await store.findPublication(repo.id, KEY, 7, false)).toEqual(record);
    expect(await store.listPublications(repo.id)).toEqual([record]);
    // another publisher key, another repository: nothing
    expect(await store.findPublication(repo.id, 'rpm:ffff', 1, false)).toBeUndefined();
    const other = await store.createRepository({ name: 'other' });
    expect(await store.findPublication(other.id, KEY, 1, false)).toBeUndefined();
    expect(await store.listPublications(other.id)).toEqual([]);
  });

  test('a path already in the publication keeps its first entry, and only new entries are counted', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const id = await store.createPublication(input(repo.id, 1));
    const first = entry('a', { sha256: sha256Of('first'), size: 5 });
    // duplicates within one batch
    expect(await store.addPublicationEntries(id, [first, entry('b'), entry('a', { sha256: sha256Of('second'), size: 6 }), entry('b', { size: 9 })])).toBe(2);
    // duplicates of an earlier batch
    expect(await store.addPublicationEntries(id, [entry('b', { kind: 'generated', urls: [] }), entry('c'), entry('a')])).toBe(1);
    expect(await store.addPublicationEntries(id, [entry('a'), entry('c')])).toBe(0);
    expect(await store.addPublicationEntries(id, [])).toBe(0);
    expect(await store.getPublicationEntry(id, 'a')).toEqual(first);
    expect(await store.getPublicationEntry(id, 'b')).toEqual(entry('b'));
    expect(pathsOf(await store.listPublicationEntries(id, { limit: 10 }))).toEqual(['a', 'b', 'c']);
  });

  test('entries of a large batch with duplicates are all stored once, and read back in pages', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const id = await store.createPublication(input(repo.id, 1));
    const paths = Array.from({ length: 2500 }, (_, i) => `pkgs/${String(i).padStart(5, '0')}.rpm`);
    const batch = [...paths.slice(0, 1500).reverse(), ...paths.slice(0, 100)].map((path) => entry(path));
    expect(await store.addPublicationEntries(id, batch)).toBe(1500);
    expect(await store.addPublicationEntries(id, paths.slice(1000).map((path) => entry(path)))).toBe(1000);
    await store.completePublication(id, summary(at(1), { files: 2500 }));
    const read: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await store.listPublicationEntries(id, { prefix: 'pkgs/', limit: 700, ...(after === undefined ? {} : { after }) });
      read.push(...pathsOf(page));
      if (page.length < 700) break;
      after = page[page.length - 1]!.path;
    }
    expect(read).toEqual(paths);
  });

  test('findPublication takes the highest complete version at most maxVersion, or exactly it', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const v1 = await publish(store, repo.id, 1);
    const v3 = await publish(store, repo.id, 3);
    await publish(store, repo.id, 4, { complete: false });
    const otherKey = await publish(store, repo.id, 2, { key: 'file:other' });
    const find = async (maxVersion: number, exact: boolean, key = KEY) => (await store.findPublication(repo.id, key, maxVersion, exact))?.id;
    expect(await find(0, false)).toBeUndefined();
    expect(await find(1, false)).toBe(v1);
    expect(await find(2, false)).toBe(v1);
    expect(await find(3, false)).toBe(v3);
    // version 4 is not complete
    expect(await find(4, false)).toBe(v3);
    expect(await find(100, false)).toBe(v3);
    expect(await find(1, true)).toBe(v1);
    expect(await find(2, true)).toBeUndefined();
    expect(await find(3, true)).toBe(v3);
    expect(await find(4, true)).toBeUndefined();
    expect(await find(2, true, 'file:other')).toBe(otherKey);
    expect(await find(5, false, 'file:other')).toBe(otherKey);
    expect(await find(1, false, 'file:other')).toBeUndefined();
  });

  test('of two complete publications of one version the newest wins; a higher version wins over a newer one', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const older = await publish(store, repo.id, 2, { created: 1, completed: 2 });
    const newer = await publish(store, repo.id, 2, { created: 3, completed: 4 });
    expect(older).not.toBe(newer);
    expect((await store.findPublication(repo.id, KEY, 2, true))?.id).toBe(newer);
    expect((await store.findPublication(repo.id, KEY, 2, false))?.id).toBe(newer);
    // an older version published later does not win over version 2
    const v1 = await publish(store, repo.id, 1, { created: 10, completed: 11 });
    expect((await store.findPublication(repo.id, KEY, 2, false))?.id).toBe(newer);
    expect((await store.findPublication(repo.id, KEY, 1, false))?.id).toBe(v1);
    // newest first
    expect((await store.listPublications(repo.id)).map((p) => p.id)).toEqual([newer, older, v1]);
  });

  test('getPublicationEntry finds one entry by exact path, and nothing otherwise', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const withDigests = entry('dir/pkg-1.0.rpm', {
      sha256: sha256Of('bytes'),
      size: 5,
      digests: { sha256: sha256Of('bytes'), md5: 'd41d8cd98f00b204e9800998ecf8427e' },
      urls: ['http://127.0.0.1:1/a/pkg-1.0.rpm', 'http://127.0.0.1:2/b/pkg-1.0.rpm'],
    });
    const manifest = generated('PULP_MANIFEST', 'text');
    const id = await publish(store, repo.id, 1, { entries: [withDigests, manifest] });
    const other = await publish(store, repo.id, 1, { entries: [entry('only-in-other')] });
    expect(await store.getPublicationEntry(id, 'dir/pkg-1.0.rpm')).toEqual(withDigests);
    expect(await store.getPublicationEntry(id, 'PULP_MANIFEST')).toEqual(manifest);
    expect(await store.getPublicationEntry(id, 'dir')).toBeUndefined();
    expect(await store.getPublicationEntry(id, 'dir/')).toBeUndefined();
    expect(await store.getPublicationEntry(id, 'DIR/pkg-1.0.rpm')).toBeUndefined();
    expect(await store.getPublicationEntry(id, 'dir/pkg-1.0.rp')).toBeUndefined();
    expect(await store.getPublicationEntry(id, 'only-in-other')).toBeUndefined();
    expect(await store.getPublicationEntry(other, 'only-in-other')).toEqual(entry('only-in-other'));
    expect(await store.getPublicationEntry('no-such-publication', 'PULP_MANIFEST')).toBeUndefined();
  });

  test('listPublicationEntries lists in path order, by prefix as a range (no wildcards), after a path, at most limit', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const paths = ['ab', 'a/c/d', 'a.b', 'a_b', 'b', 'a/b', 'a', 'A', 'a/b/c', 'a0', 'é', 'a%', 'a/'];
    const id = await store.createPublication(input(repo.id, 1));
    await store.addPublicationEntries(id, paths.slice(0, 6).map((path) => entry(path)));
    await store.addPublicationEntries(id, paths.slice(6).map((path) => entry(path)));
    // the same paths in another publication are not listed
    await publish(store, repo.id, 1, { entries: paths.map((path) => entry(`${path}x`)) });
    const sorted = ['A', 'a', 'a%', 'a.b', 'a/', 'a/b', 'a/b/c', 'a/c/d', 'a0', 'a_b', 'ab', 'b', 'é'];
    // code-unit order of the paths
    expect([...paths].sort()).toEqual(sorted);
    const list = async (options: { prefix?: string; after?: string; limit: number }) => pathsOf(await store.listPublicationEntries(id, options));

    expect(await list({ limit: 100 })).toEqual(sorted);
    expect(await store.listPublicationEntries(id, { prefix: 'a/b', limit: 1 })).toEqual([entry('a/b')]);
    expect(await list({ prefix: 'a/', limit: 100 })).toEqual(['a/', 'a/b', 'a/b/c', 'a/c/d']);
    expect(await list({ prefix: 'a/b', limit: 100 })).toEqual(['a/b', 'a/b/c']);
    expect(await list({ prefix: 'a/b/', limit: 100 })).toEqual(['a/b/c']);
    expect(await list({ prefix: 'a', limit: 100 })).toEqual(['a', 'a%', 'a.b', 'a/', 'a/b', 'a/b/c', 'a/c/d', 'a0', 'a_b', 'ab']);
    // '.', '_' and '%' are characters, not patterns
    expect(await list({ prefix: 'a.', limit: 100 })).toEqual(['a.b']);
    expect(await list({ prefix: 'a_', limit: 100 })).toEqual(['a_b']);
    expect(await list({ prefix: 'a%', limit: 100 })).toEqual(['a%']);
    expect(await list({ prefix: 'A', limit: 100 })).toEqual(['A']);
    expect(await list({ prefix: 'é', limit: 100 })).toEqual(['é']);
    expect(await list({ prefix: 'zz', limit: 100 })).toEqual([]);
    expect(await list({ prefix: 'a/b/c/', limit: 100 })).toEqual([]);
    expect(await list({ prefix: '', limit: 100 })).toEqual(sorted);

    expect(await list({ limit: 3 })).toEqual(['A', 'a', 'a%']);
    expect(await list({ after: 'a/b', limit: 3 })).toEqual(['a/b/c', 'a/c/d', 'a0']);
    // `after` need not be a stored path
    expect(await list({ after: 'a/bb', limit: 100 })).toEqual(['a/c/d', 'a0', 'a_b', 'ab', 'b', 'é']);
    expect(await list({ prefix: 'a/', after: 'a/b', limit: 100 })).toEqual(['a/b/c', 'a/c/d']);
    expect(await list({ prefix: 'a/', after: 'a/b', limit: 1 })).toEqual(['a/b/c']);
    expect(await list({ prefix: 'a/', after: 'a/c/d', limit: 100 })).toEqual([]);
    expect(await list({ prefix: 'a/', after: 'A', limit: 100 })).toEqual(['a/', 'a/b', 'a/b/c', 'a/c/d']);
    expect(await list({ after: 'é', limit: 100 })).toEqual([]);
    expect(await list({ limit: 0 })).toEqual([]);

    // paging with `after` through everything, two at a time
    const paged: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await list({ limit: 2, ...(after === undefined ? {} : { after }) });
      paged.push(...page);
      if (page.length < 2) break;
      after = page[page.length - 1];
    }
    expect(paged).toEqual(sorted);
    expect(await store.listPublicationEntries('no-such-publication', { limit: 10 })).toEqual([]);
  });

  test('a complete publication takes no more entries', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const id = await publish(store, repo.id, 1, { entries: [entry('a')] });
    expect(await rejectionCode(store.addPublicationEntries(id, [entry('b')]))).toBe(ErrorCodes.STORE);
    expect(await rejectionCode(store.addPublicationEntries('no-such-publication', [entry('b')]))).toBe(ErrorCodes.STORE);
    expect(pathsOf(await store.listPublicationEntries(id, { limit: 10 }))).toEqual(['a']);
  });

  test('deletePublication removes a publication, complete or not, and its entries only', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const kept = await publish(store, repo.id, 1, { entries: [entry('a'), entry('b')], created: 1 });
    const doomed = await publish(store, repo.id, 2, { entries: [entry('a'), entry('c')], created: 2 });
    const incomplete = await publish(store, repo.id, 3, { entries: [entry('d')], complete: false, created: 3 });
    expect((await store.findPublication(repo.id, KEY, 2, false))?.id).toBe(doomed);

    await store.deletePublication(doomed);
    expect((await store.findPublication(repo.id, KEY, 2, false))?.id).toBe(kept);
    expect(await store.findPublication(repo.id, KEY, 2, true)).toBeUndefined();
    expect(await store.getPublicationEntry(doomed, 'a')).toBeUndefined();
    expect(await store.listPublicationEntries(doomed, { limit: 10 })).toEqual([]);
    expect(pathsOf(await store.listPublicationEntries(kept, { limit: 10 }))).toEqual(['a', 'b']);

    await store.deletePublication(incomplete);
    expect(await store.listPublicationEntries(incomplete, { limit: 10 })).toEqual([]);
    expect((await store.listPublications(repo.id)).map((p) => p.id)).toEqual([kept]);
    // deleting again (or an unknown id) is no error
    await store.deletePublication(doomed);
    await store.deletePublication('no-such-publication');
    expect((await store.listPublications(repo.id)).map((p) => p.id)).toEqual([kept]);
  });

  test('deleteRepository removes its publications and their entries, and keeps other repositories\' and distributions', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const other = await store.createRepository({ name: 'other' });
    const complete = await publish(store, repo.id, 1, { entries: [entry('a')] });
    const incomplete = await publish(store, repo.id, 2, { entries: [entry('b')], complete: false });
    const others = await publish(store, other.id, 1, { entries: [entry('a')] });
    const distribution = await store.createDistribution({ name: 'd', basePath: 'r/latest', repoId: repo.id, version: null, publishOptions: {} });

    expect(await store.deleteRepository(repo.id)).toBe(true);
    expect(await store.listPublications(repo.id)).toEqual([]);
    expect(await store.findPublication(repo.id, KEY, 10, false)).toBeUndefined();
    expect(await store.getPublicationEntry(complete, 'a')).toBeUndefined();
    expect(await store.listPublicationEntries(complete, { limit: 10 })).toEqual([]);
    expect(await store.listPublicationEntries(incomplete, { limit: 10 })).toEqual([]);
    expect((await store.findPublication(other.id, KEY, 1, true))?.id).toBe(others);
    expect(await store.getPublicationEntry(others, 'a')).toEqual(entry('a'));
    // distributions pointing at it are kept (and serve nothing)
    expect(await store.getDistribution('d')).toEqual(distribution);
  });

  test('deleteOrphans keeps an artifact only a publication entry references, and deletes it once the publication is gone', async () => {
    const store = current();
    const [generatedText, remoteText, looseText, unitText] = ['generated repodata', 'published file', 'loose', 'unit file'];
    const artifact = (text: string) => ({ sha256: sha256Of(text), size: text.length, digests: {} });
    await store.upsertArtifacts([generatedText, remoteText, looseText, unitText].map(artifact));
    const unit = unitWrite('file', 'u', {}, [{ relativePath: 'u', sha256: sha256Of(unitText) }]);
    const repoId = await repoWithVersion1(store, 'r', [unit]);
    const complete = await publish(store, repoId, 1, {
      entries: [generated('repodata/repomd.xml', generatedText), entry('u', { sha256: sha256Of(unitText), size: unitText.length, urls: [] })],
    });
    // an incomplete publication (being written) keeps what it references too
    const incomplete = await publish(store, repoId, 1, {
      entries: [entry('f', { sha256: sha256Of(remoteText), size: remoteText.length, urls: [] })],
      complete: false,
    });

    expect(await store.deleteOrphans()).toEqual({ units: 0, artifacts: [sha256Of(looseText)] });
    const stillThere = [generatedText, remoteText, unitText].map(sha256Of);
    expect((await store.findArtifacts('sha256', stillThere)).map((a) => a.sha256).sort()).toEqual([...stillThere].sort());

    await store.deletePublication(complete);
    expect(await store.deleteOrphans()).toEqual({ units: 0, artifacts: [sha256Of(generatedText)] });
    await store.deletePublication(incomplete);
    expect(await store.deleteOrphans()).toEqual({ units: 0, artifacts: [sha256Of(remoteText)] });
    // the unit's own file is still referenced by the unit
    expect(await store.findArtifacts('sha256', [sha256Of(unitText)])).toHaveLength(1);
  });
}

function distribution(name: string, basePath: string, repoId: string, extra: Partial<DistributionInput> = {}): DistributionInput {
  return { name, basePath, repoId, version: null, publishOptions: { checksum: 'sha256', 'odd.key': { $x: [1] } }, ...extra };
}

export function distributionBehaviours(current: CurrentStore): void {
  test('a distribution is created, read, listed, updated and deleted', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const other = await store.createRepository({ name: 'other' });
    const created = await store.createDistribution(distribution('zeta', 'r/latest', repo.id));
    expect(created).toMatchObject(distribution('zeta', 'r/latest', repo.id));
    expect(Number.isNaN(Date.parse(created.createdAt))).toBe(false);
    expect(Number.isNaN(Date.parse(created.updatedAt))).toBe(false);
    expect(await store.getDistribution('zeta')).toEqual(created);
    expect(await store.getDistribution('nope')).toBeUndefined();
    const fixed = await store.createDistribution(distribution('alpha', 'r/v1', repo.id, { version: 1, publishOptions: {} }));
    expect(fixed).toMatchObject({ version: 1, publishOptions: {} });
    expect(await store.listDistributions()).toEqual([fixed, created]);

    const updated = await store.updateDistribution('zeta', { repoId: other.id, version: 3, publishOptions: { a: 1 } });
    expect(updated).toMatchObject({ name: 'zeta', basePath: 'r/latest', repoId: other.id, version: 3, publishOptions: { a: 1 }, createdAt: created.createdAt });
    expect(await store.getDistribution('zeta')).toEqual(updated);
    const moved = await store.updateDistribution('zeta', { basePath: 'other/latest', version: null });
    expect(moved).toMatchObject({ basePath: 'other/latest', repoId: other.id, version: null, publishOptions: { a: 1 } });
    expect(await store.getDistribution('zeta')).toEqual(moved);
    // its own base path again is no conflict
    expect(await store.updateDistribution('zeta', { basePath: 'other/latest' })).toMatchObject({ basePath: 'other/latest' });

    expect(await store.deleteDistribution('zeta')).toBe(true);
    expect(await store.getDistribution('zeta')).toBeUndefined();
    expect(await store.deleteDistribution('zeta')).toBe(false);
    expect(await store.listDistributions()).toEqual([fixed]);
    // the base path is free again
    expect(await store.createDistribution(distribution('beta', 'other/latest', other.id))).toMatchObject({ name: 'beta' });
  });

  test('a taken name is TRIBUTARY_ERR_DISTRIBUTION_EXISTS, and the first distribution is untouched', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const first = await store.createDistribution(distribution('d', 'one', repo.id));
    expect(await rejectionCode(store.createDistribution(distribution('d', 'two', repo.id, { version: 2 })))).toBe(ErrorCodes.DISTRIBUTION_EXISTS);
    // also when the base path is taken too
    expect(await rejectionCode(store.createDistribution(distribution('d', 'one', repo.id)))).toBe(ErrorCodes.DISTRIBUTION_EXISTS);
    expect(await store.listDistributions()).toEqual([first]);
  });

  test('a base path equal to another distribution\'s is TRIBUTARY_ERR_BASE_PATH_CONFLICT on create and on update; nesting is allowed', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const a = await store.createDistribution(distribution('a', 'pub/a', repo.id));
    const b = await store.createDistribution(distribution('b', 'pub/b', repo.id));
    expect(await rejectionCode(store.createDistribution(distribution('c', 'pub/a', repo.id)))).toBe(ErrorCodes.BASE_PATH_CONFLICT);
    expect(await rejectionCode(store.updateDistribution('b', { basePath: 'pub/a', version: 4 }))).toBe(ErrorCodes.BASE_PATH_CONFLICT);
    expect(await store.listDistributions()).toEqual([a, b]);
    // nesting is the caller's check
    const nested = await store.createDistribution(distribution('n', 'pub/a/nested', repo.id));
    expect(await store.listDistributions()).toEqual([a, b, nested]);
  });

  test('updating an unknown distribution is TRIBUTARY_ERR_DISTRIBUTION_NOT_FOUND', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    await store.createDistribution(distribution('d', 'p', repo.id));
    expect(await rejectionCode(store.updateDistribution('missing', { version: 1 }))).toBe(ErrorCodes.DISTRIBUTION_NOT_FOUND);
    expect(await rejectionCode(store.updateDistribution('missing', { basePath: 'p' }))).toBe(ErrorCodes.DISTRIBUTION_NOT_FOUND);
    expect(await store.getDistribution('missing')).toBeUndefined();
  });
}
