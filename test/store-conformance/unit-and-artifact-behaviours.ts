import { canonicalJson, DIGEST_ALGORITHMS } from '@tributary/plugin-api';
import { collect, digestOf, repoWithVersion1, rowsOf, sha256Of, unitId, unitWrite, type CurrentStore } from './store-fixtures.js';

export function unitBehaviours(current: CurrentStore): void {
  test('upsertUnits reports created, updated and unchanged per input, in order', async () => {
    const store = current();
    const a = unitWrite('file', 'a', { size: 1, tags: { x: 1, y: 2 } });
    const b = unitWrite('file', 'b', { size: 2 });
    expect(await store.upsertUnits([a, b])).toEqual(['created', 'created']);
    const aSameOtherKeyOrder = { ...a, metadata: { tags: { y: 2, x: 1 }, size: 1 } };
    const bChanged = { ...b, metadata: { size: 3 } };
    const c = unitWrite('file', 'c');
    expect(await store.upsertUnits([bChanged, aSameOtherKeyOrder, c])).toEqual(['updated', 'unchanged', 'created']);
    expect(await store.upsertUnits([bChanged, aSameOtherKeyOrder, c])).toEqual(['unchanged', 'unchanged', 'unchanged']);
  });

  test('metadata given as canonical text is stored as that text and compares with the same metadata given as an object', async () => {
    const store = current();
    const metadata = { size: 1, tags: { x: 1, y: 2 } };
    const a = unitWrite('file', 'as-text', metadata);
    expect(await store.upsertUnits([{ ...a, metadataJson: canonicalJson(metadata) }])).toEqual(['created']);
    expect(await store.upsertUnits([{ ...a, metadata: { tags: { y: 2, x: 1 }, size: 1 } }])).toEqual(['unchanged']);
    expect(await store.upsertUnits([{ ...a, metadata: { size: 2 }, metadataJson: canonicalJson({ size: 2 }) }])).toEqual(['updated']);
    const [found] = await store.findUnits([a.unitId]);
    expect(found!.metadata).toEqual({ size: 2 });
  });

  test('upserting is idempotent by unit id and findUnits returns what was stored', async () => {
    const store = current();
    const a = unitWrite('rpm.package', 'a', { summary: 'first' }, [{ relativePath: 'Packages/a.rpm', sha256: null }]);
    await store.upsertUnits([a]);
    await store.upsertUnits([{ ...a, metadata: { summary: 'second' } }]);
    const found = await store.findUnits([a.unitId, unitId('rpm.package', 'never-stored')]);
    // a store may report remote sources with the unit (none were written here)
    expect(found.map(({ remotes, ...unit }) => (expect(remotes ?? []).toEqual([]), unit))).toEqual([
      {
        unitId: a.unitId,
        typeId: 'rpm.package',
        key: { name: 'a' },
        metadata: { summary: 'second' },
        artifacts: [{ relativePath: 'Packages/a.rpm', sha256: null }],
      },
    ]);
    expect(await store.findUnits([])).toEqual([]);
  });

  test('upsertUnits replaces unit-artifact rows for the paths given and keeps the others', async () => {
    const store = current();
    const [shaA, shaB] = [sha256Of('a'), sha256Of('b')];
    const u = unitWrite('file', 'u', {}, [
      { relativePath: 'one', sha256: null },
      { relativePath: 'two', sha256: shaA },
    ]);
    await store.upsertUnits([u]);
    await store.upsertUnits([{ ...u, artifacts: [{ relativePath: 'one', sha256: shaB }] }]);
    const [found] = await store.findUnits([u.unitId]);
    const byPath = Object.fromEntries(found!.artifacts.map((a) => [a.relativePath, a.sha256]));
    expect(byPath).toEqual({ one: shaB, two: shaA });
  });

  test('a null sha256 (bytes deferred) never erases a known one', async () => {
    const store = current();
    const sha = sha256Of('stored bytes');
    const u = unitWrite('file', 'kept', {}, [{ relativePath: 'kept.bin', sha256: sha }]);
    await store.upsertUnits([u]);
    // e.g. an on-demand sync of content an immediate sync stored earlier
    await store.upsertUnits([{ ...u, artifacts: [{ relativePath: 'kept.bin', sha256: null }] }]);
    const [found] = await store.findUnits([u.unitId]);
    expect(found!.artifacts).toEqual([{ relativePath: 'kept.bin', sha256: sha }]);
  });
}

export function artifactBehaviours(current: CurrentStore): void {
  const bytes = 'hello artifact';
  const record = () => ({ sha256: sha256Of(bytes), size: bytes.length, digests: { md5: digestOf('md5', bytes) } });

  test('findArtifacts finds an artifact by each digest algorithm once its digests are known', async () => {
    const store = current();
    await store.upsertArtifacts([record()]);
    await store.upsertArtifacts([
      {
        sha256: sha256Of(bytes),
        size: bytes.length,
        digests: { sha1: digestOf('sha1', bytes), sha224: digestOf('sha224', bytes), sha384: digestOf('sha384', bytes), sha512: digestOf('sha512', bytes) },
      },
    ]);
    for (const algorithm of DIGEST_ALGORITHMS) {
      const digest = algorithm === 'sha256' ? sha256Of(bytes) : digestOf(algorithm, bytes);
      const found = await store.findArtifacts(algorithm, [digest, digest.replace(/^./, (c) => (c === '0' ? '1' : '0'))]);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({ sha256: sha256Of(bytes), size: bytes.length });
      // digests merged from both upserts
      expect(found[0]!.digests).toMatchObject({ md5: digestOf('md5', bytes), sha512: digestOf('sha512', bytes) });
    }
  });

  test('upsertArtifacts is idempotent by sha256', async () => {
    const store = current();
    await store.upsertArtifacts([record(), record()]);
    await store.upsertArtifacts([record()]);
    expect(await store.findArtifacts('sha256', [sha256Of(bytes)])).toHaveLength(1);
    expect(await store.findArtifacts('md5', [])).toEqual([]);
    expect(await store.findArtifacts('sha1', [digestOf('sha1', 'unknown')])).toEqual([]);
  });

  test('remote artifacts show in repoUnits until the bytes are stored', async () => {
    const store = current();
    const content = 'remote bytes';
    const u = unitWrite('file', 'r', {}, [{ relativePath: 'dir/r.bin', sha256: null }]);
    const repoId = await repoWithVersion1(store, 'r', [u]);
    const remote = { unitId: u.unitId, relativePath: 'dir/r.bin', remote: 'http://127.0.0.1:1/repo/', size: content.length, digests: { sha256: sha256Of(content) } };
    await store.upsertRemoteArtifacts([{ ...remote, urls: ['http://127.0.0.1:1/repo/old.bin'] }]);
    await store.upsertRemoteArtifacts([{ ...remote, urls: ['http://127.0.0.1:1/repo/dir/r.bin'] }]);
    // version 1 holds the unit as it was; a version associating it again shows its remote sources
    expect((await collect(store.repoUnits(repoId, 1)))[0]!.artifacts[0]!.remoteUrls).toEqual([]);
    const v2 = await store.beginVersion(repoId);
    await store.associate(repoId, v2, rowsOf([u]), 'sync');
    await store.commitVersion(repoId, v2);

    const [deferred] = await collect(store.repoUnits(repoId, 2));
    expect(deferred!.artifacts).toEqual([
      expect.objectContaining({
        relativePath: 'dir/r.bin',
        sha256: sha256Of(content),
        size: content.length,
        stored: false,
        remoteUrls: ['http://127.0.0.1:1/repo/dir/r.bin'],
      }),
    ]);
    expect(deferred!.artifacts[0]!.digests).toMatchObject({ sha256: sha256Of(content) });

    await store.upsertArtifacts([{ sha256: sha256Of(content), size: content.length, digests: { md5: digestOf('md5', content) } }]);
    await store.upsertUnits([{ ...u, artifacts: [{ relativePath: 'dir/r.bin', sha256: sha256Of(content) }] }]);
    // the bytes of a file the version lists arriving complete that version: no new one is needed
    const [stored] = await collect(store.repoUnits(repoId, 2));
    expect(stored!.artifacts).toEqual([
      expect.objectContaining({ relativePath: 'dir/r.bin', sha256: sha256Of(content), size: content.length, stored: true }),
    ]);
    expect(stored!.artifacts[0]!.digests).toMatchObject({ sha256: sha256Of(content), md5: digestOf('md5', content) });
  });

  test('remote sources written with a unit upsert like upsertRemoteArtifacts, and findUnits may report them', async () => {
    const store = current();
    const u = unitWrite('file', 'with-remote', {}, [{ relativePath: 'a.bin', sha256: null }]);
    const source = { relativePath: 'a.bin', remote: 'https://one.example/', urls: ['https://one.example/a.bin'], size: 3, digests: { sha256: 'A'.repeat(64) } };
    const repoId = await repoWithVersion1(store, 'remotes-with-unit', [{ ...u, remotes: [source] }]);
    // a second upstream is added; the first one's entry is replaced, not duplicated
    await store.upsertUnits([{ ...u, remotes: [{ ...source, remote: 'https://two.example/', urls: ['https://two.example/a.bin'] }] }]);
    await store.upsertUnits([{ ...u, remotes: [{ ...source, urls: ['https://one.example/moved/a.bin'] }] }]);
    // version 1 keeps the sources it had; the next version associating the unit shows them all
    expect((await collect(store.repoUnits(repoId, 1)))[0]!.artifacts[0]!.remoteUrls).toEqual(['https://one.example/a.bin']);
    const v2 = await store.beginVersion(repoId);
    await store.associate(repoId, v2, rowsOf([u]), 'sync');
    await store.commitVersion(repoId, v2);
    const [view] = await collect(store.repoUnits(repoId, v2));
    expect(view!.artifacts).toEqual([
      expect.objectContaining({
        relativePath: 'a.bin',
        stored: false,
        size: 3,
        sha256: 'a'.repeat(64),
        remoteUrls: ['https://one.example/moved/a.bin', 'https://two.example/a.bin'],
      }),
    ]);
    const [found] = await store.findUnits([u.unitId]);
    if (found!.remotes !== undefined) {
      expect(found!.remotes).toEqual([
        { relativePath: 'a.bin', remote: 'https://one.example/', urls: ['https://one.example/moved/a.bin'], size: 3, digests: { sha256: 'a'.repeat(64) } },
        { relativePath: 'a.bin', remote: 'https://two.example/', urls: ['https://two.example/a.bin'], size: 3, digests: { sha256: 'a'.repeat(64) } },
      ]);
    }
  });
}
