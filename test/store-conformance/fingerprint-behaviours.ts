import { createHash } from 'node:crypto';
import { BaseVersionIndex } from '../../packages/core/src/resync/base-version-index.js';
import type { ContentStore, UnitWrite } from '../../packages/core/src/store/content-store.js';
import { FINGERPRINT_FIELDS, STORED_FINGERPRINT_FIELDS } from '../../packages/core/src/store/unit-fingerprint.js';
import { unitWrite, type CurrentStore } from './store-fixtures.js';

/**
 * Unit fingerprints (a re-sync's fast path): a stored unit's fingerprint is the fingerprint of
 * writing it as it is, for the asking remote, and marking units seen keeps them in a mirror version.
 */
export function fingerprintBehaviours(current: CurrentStore): void {
  const hex = (text: string) => createHash('sha256').update(text).digest('hex');
  const remoteA = (path: string) => ({ relativePath: path, remote: 'https://a.example/', urls: [`https://a.example/${path}`], size: 5, digests: { sha256: hex(path) } });
  const remoteB = (path: string) => ({ ...remoteA(path), remote: 'https://b.example/', urls: [`https://b.example/${path}`] });
  const unit = (name: string, extra: Partial<UnitWrite> = {}): UnitWrite => ({
    ...unitWrite('file', name, { size: 5, tags: ['x', 'y'] }, [{ relativePath: `${name}.bin`, sha256: null }]),
    remotes: [remoteA(`${name}.bin`)],
    ...extra,
  });

  /** Version 1 of a repository holding `units`, and the stored fingerprints `remote` sees. */
  async function storedVersion(store: ContentStore, units: readonly UnitWrite[], remote: string) {
    const repo = await store.createRepository({ name: 'r' });
    await store.upsertUnits(units);
    const version = await store.beginVersion(repo.id);
    await store.associate(repo.id, version, units, 'sync');
    await store.commitVersion(repo.id, version);
    const index = new BaseVersionIndex();
    let count = 0;
    for await (const page of store.repoUnitFingerprints(repo.id, version, remote)) {
      index.addAll(page);
      count += page.length / STORED_FINGERPRINT_FIELDS;
    }
    return { repo, index, count };
  }
  const found = (index: BaseVersionIndex, fingerprints: Float64Array, i = 0) => index.contentRowOf(fingerprints, i * FINGERPRINT_FIELDS) >= 0;

  test('a stored unit has the fingerprint of writing it as it is; other metadata, files or sources do not', async () => {
    const store = current();
    const plain = unit('plain');
    const { index, count } = await storedVersion(store, [plain, unit('other')], 'https://a.example/');
    expect(count).toBe(2);
    expect(found(index, store.unitFingerprints([{ ...plain, metadata: { tags: ['x', 'y'], size: 5 } }]))).toBe(true);
    const changed = store.unitFingerprints([
      { ...plain, metadata: { size: 6, tags: ['x', 'y'] } },
      { ...plain, artifacts: [{ relativePath: 'plain.bin', sha256: hex('bytes') }] },
      { ...plain, artifacts: [...plain.artifacts, { relativePath: 'more.bin', sha256: null }] },
      { ...plain, remotes: [{ ...remoteA('plain.bin'), size: 6 }] },
      { ...plain, remotes: [] },
    ]);
    for (let i = 0; i < 5; i++) expect([i, found(index, changed, i)]).toEqual([i, false]);
  });

  test("only the asking remote's sources count: a unit two upstreams list matches each upstream's own write", async () => {
    const store = current();
    const shared = unit('shared', { remotes: [remoteA('shared.bin'), remoteB('shared.bin')] });
    const { index } = await storedVersion(store, [shared], 'https://b.example/');
    expect(found(index, store.unitFingerprints([{ ...shared, remotes: [remoteB('shared.bin')] }]))).toBe(true);
    expect(found(index, store.unitFingerprints([{ ...shared, remotes: [remoteA('shared.bin')] }]))).toBe(false);
    expect(found(index, store.unitFingerprints([shared]))).toBe(false);
  });

  test('units marked seen stay in a mirror version; the others are removed', async () => {
    const store = current();
    const units = [unit('kept'), unit('gone')];
    const { repo, index } = await storedVersion(store, units, 'https://a.example/');
    const version = await store.beginVersion(repo.id);
    const keptRow = index.contentRowOf(store.unitFingerprints([units[0]!]), 0);
    expect(keptRow).toBeGreaterThanOrEqual(0);
    await store.markSeen(repo.id, version, [{ unitId: units[0]!.unitId, contentRow: keptRow }]);
    expect(await store.unassociateUnseen(repo.id, version, false)).toEqual({ file: 1 });
    await store.commitVersion(repo.id, version);
    const left: string[] = [];
    for await (const key of store.repoUnitKeys(repo.id, version)) left.push(String(key.key.name));
    expect(left).toEqual(['kept']);
  });

  test('reads a version of many units of several types page by page, every unit once', async () => {
    const store = current();
    const units = Array.from({ length: 1300 }, (_, i) => unit(`u${i}`, { typeId: i % 3 === 0 ? 'rpm.package' : 'file', unitId: hex(`u${i}`).slice(0, 40) }));
    const { index, count } = await storedVersion(store, units, 'https://a.example/');
    expect(count).toBe(1300);
    const fingerprints = store.unitFingerprints(units);
    let matched = 0;
    for (let i = 0; i < units.length; i++) if (found(index, fingerprints, i)) matched++;
    expect(matched).toBe(1300);
  });
}
