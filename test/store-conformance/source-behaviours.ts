import type { ContentStore, ProvenanceStore, UnitWrite } from '../../packages/core/src/store/content-store.js';
import { STORED_FINGERPRINT_FIELDS, type SourceDigest } from '../../packages/core/src/store/unit-fingerprint.js';
import { unitWrite, type CurrentStore } from './store-fixtures.js';

/**
 * Content provenance (a capability of the port, the SQLite stores have it): a content row remembers
 * the source digest it was associated or marked seen with, for as long as nothing writes its unit
 * again. A store without it skips these.
 */
export function sourceBehaviours(current: CurrentStore): void {
  type Recording = ContentStore & { readonly provenance: ProvenanceStore };
  const recording = (): Recording | undefined => {
    const store = current();
    return store.provenance !== undefined ? (store as Recording) : undefined;
  };
  const digest = (n: number): SourceDigest => [n, n + 1, n + 2];
  const remote = (path: string, size = 5) => ({ relativePath: path, remote: 'https://a.example/', urls: [`https://a.example/${path}`], size, digests: {} });
  const unit = (name: string): UnitWrite => unitWrite('file', name, { size: 5 }, [{ relativePath: `${name}.bin`, sha256: null }]);

  /** The recorded sources `version` still holds, as `digest:contentRow` texts, sorted. */
  async function sourcesOf(store: Recording, repoId: string, version: number): Promise<string[]> {
    const found: string[] = [];
    for await (const page of store.provenance.repoUnitSources(repoId, version)) {
      for (let at = 0; at < page.length; at += STORED_FINGERPRINT_FIELDS) found.push(`${page[at]},${page[at + 1]},${page[at + 2]}:${page[at + 3]}`);
    }
    return found.sort();
  }
  const digestsOf = (found: readonly string[]) => found.map((entry) => entry.slice(0, entry.indexOf(':')));

  async function version1(store: Recording, units: readonly UnitWrite[], sources: readonly (SourceDigest | undefined)[]) {
    const repo = await store.createRepository({ name: 'r' });
    await store.upsertUnits(units);
    const version = await store.beginVersion(repo.id);
    await store.associate(
      repo.id,
      version,
      units.map((u, i) => (sources[i] === undefined ? { unitId: u.unitId, typeId: u.typeId } : { unitId: u.unitId, typeId: u.typeId, source: sources[i]! })),
      'sync',
    );
    await store.commitVersion(repo.id, version);
    return { repo, version };
  }

  test('an association records its source with the content row; one without a source records none', async () => {
    const store = recording();
    if (!store) return;
    const { repo, version } = await version1(store, [unit('a'), unit('b'), unit('c')], [digest(1), undefined, digest(100)]);
    expect(digestsOf(await sourcesOf(store, repo.id, version))).toEqual(['1,2,3', '100,101,102']);
  });

  test('a source no longer holds once the unit is written again: new metadata, or new remote sources', async () => {
    const store = recording();
    if (!store) return;
    const [a, b, c] = [unit('a'), unit('b'), unit('c')];
    const { repo, version } = await version1(store, [a, b, c], [digest(1), digest(10), digest(20)]);
    await store.upsertUnits([{ ...a, metadata: { size: 6 } }, b]); // b unchanged: not written
    await store.upsertRemoteArtifacts([{ unitId: c.unitId, ...remote('c.bin', 7) }]);
    expect(digestsOf(await sourcesOf(store, repo.id, version))).toEqual(['10,11,12']);
  });

  test('marking a unit seen with a source records it; the row leaves the sources with the version it leaves', async () => {
    const store = recording();
    if (!store) return;
    const [a, b] = [unit('a'), unit('b')];
    const { repo, version } = await version1(store, [a, b], [undefined, undefined]);
    expect(await sourcesOf(store, repo.id, version)).toEqual([]);
    const v2 = await store.beginVersion(repo.id);
    // the content rows, as the fingerprint pages name them
    const rows: number[] = [];
    for await (const page of store.repoUnitFingerprints(repo.id, version, 'https://a.example/')) {
      for (let at = 0; at < page.length; at += STORED_FINGERPRINT_FIELDS) rows.push(page[at + 3]!);
    }
    await store.markSeen(repo.id, v2, [
      { unitId: a.unitId, contentRow: rows[0]!, source: digest(7) },
      { unitId: b.unitId, contentRow: rows[1]! },
    ]);
    await store.unassociateUnseen(repo.id, v2, false);
    await store.commitVersion(repo.id, v2);
    expect(digestsOf(await sourcesOf(store, repo.id, v2))).toEqual(['7,8,9']);
    const v3 = await store.beginVersion(repo.id);
    await store.unassociate(repo.id, v3, [a.unitId, b.unitId]);
    await store.commitVersion(repo.id, v3);
    expect(await sourcesOf(store, repo.id, v3)).toEqual([]);
  });

  test('associating a present unit again with another source replaces the recorded one', async () => {
    const store = recording();
    if (!store) return;
    const a = unit('a');
    const { repo } = await version1(store, [a], [digest(1)]);
    const v2 = await store.beginVersion(repo.id);
    await store.associate(repo.id, v2, [{ unitId: a.unitId, typeId: a.typeId, source: digest(50) }], 'sync');
    await store.commitVersion(repo.id, v2);
    expect(digestsOf(await sourcesOf(store, repo.id, v2))).toEqual(['50,51,52']);
  });
}
