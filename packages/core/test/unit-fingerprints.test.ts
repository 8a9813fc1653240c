import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaseVersionIndex } from '../src/conduit/base-version-index.js';
import type { ContentStore, UnitWrite } from '../src/store/content-store.js';
import { SqliteContentStore } from '../src/store/sqlite/sqlite-content-store.js';
import { SqliteWorkerStore } from '../src/store/sqlite/sqlite-worker-store.js';
import { FINGERPRINT_FIELDS, STORED_FINGERPRINT_FIELDS, unitIdKey } from '../src/store/unit-fingerprint.js';

/** Fingerprints of stored units (a re-sync's fast path): the table they live in, and what the SQLite stores give. */

const hex = (text: string) => createHash('sha256').update(text).digest('hex');
const idOf = (name: string) => hex(name).slice(0, 40);

describe('BaseVersionIndex', () => {
  /** A page of stored fingerprints for `count` made-up units; unit i's content row is 1000 + i. */
  function page(count: number, salt = ''): Float64Array {
    const out = new Float64Array(count * STORED_FINGERPRINT_FIELDS);
    for (let i = 0; i < count; i++) {
      const at = i * STORED_FINGERPRINT_FIELDS;
      out[at] = unitIdKey(idOf(`unit ${i}`));
      out[at + 1] = parseInt(hex(`high ${i}${salt}`).slice(0, 13), 16);
      out[at + 2] = parseInt(hex(`low ${i}${salt}`).slice(0, 13), 16);
      out[at + 3] = 1000 + i;
    }
    return out;
  }
  /** The computed (three-number) fingerprint of unit i of a page. */
  const probe = (from: Float64Array, i: number) => from.slice(i * STORED_FINGERPRINT_FIELDS, i * STORED_FINGERPRINT_FIELDS + FINGERPRINT_FIELDS);

  it('finds every unit it was given across growth, by id and by whole fingerprint, and nothing else', () => {
    const index = new BaseVersionIndex(4);
    const stored = page(5000);
    index.addAll(stored.subarray(0, 2000 * STORED_FINGERPRINT_FIELDS));
    index.addAll(stored.subarray(2000 * STORED_FINGERPRINT_FIELDS));
    expect(index.size).toBe(5000);
    const other = page(5000, ' changed');
    for (let i = 0; i < 5000; i += 7) {
      expect(index.hasUnit(stored[i * STORED_FINGERPRINT_FIELDS]!)).toBe(true);
      expect(index.contentRowOf(probe(stored, i), 0)).toBe(1000 + i);
      // same unit id, other digest: the unit is there, but not unchanged
      expect(index.contentRowOf(probe(other, i), 0)).toBe(-1);
    }
    expect(index.hasUnit(unitIdKey(idOf('never stored')))).toBe(false);
  });

  it('keeps two units whose ids share a key apart, and ignores ids that are not hex', () => {
    const index = new BaseVersionIndex();
    const twins = new Float64Array([7, 1, 2, 10, 7, 3, 4, 11, Number.NaN, 5, 6, 12]);
    index.addAll(twins);
    expect(index.size).toBe(2);
    expect(index.contentRowOf(new Float64Array([7, 1, 2]), 0)).toBe(10);
    expect(index.contentRowOf(new Float64Array([7, 3, 4]), 0)).toBe(11);
    expect(index.contentRowOf(new Float64Array([7, 1, 4]), 0)).toBe(-1);
    expect(index.contentRowOf(new Float64Array([Number.NaN, 5, 6]), 0)).toBe(-1);
    expect(index.hasUnit(Number.NaN)).toBe(false);
    expect(unitIdKey('not-a-hex-unit-id')).toBeNaN();
  });
});

describe.each([
  ['SqliteContentStore', (file: string) => new SqliteContentStore(file)],
  ['SqliteWorkerStore', (file: string) => new SqliteWorkerStore(file)],
] as const)('%s unit fingerprints', (_name, create) => {
  let dir: string;
  let store: ContentStore & Required<Pick<ContentStore, 'repoUnitFingerprints' | 'unitFingerprints' | 'markSeen'>>;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-fingerprints-'));
    store = create(join(dir, 'catalog.db')) as typeof store;
    await store.init();
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const remoteA = (path: string) => ({ relativePath: path, remote: 'https://a.example/', urls: [`https://a.example/${path}`], size: 5, digests: { sha256: hex(path) } });
  const remoteB = (path: string) => ({ ...remoteA(path), remote: 'https://b.example/', urls: [`https://b.example/${path}`] });
  const unit = (name: string, extra: Partial<UnitWrite> = {}): UnitWrite => ({
    unitId: idOf(name),
    typeId: 'file',
    key: { name },
    metadata: { size: 5, tags: ['x', 'y'] },
    artifacts: [{ relativePath: `${name}.bin`, sha256: null }],
    remotes: [remoteA(`${name}.bin`)],
    ...extra,
  });

  /** Version 1 of a repository holding `units`, and the stored fingerprints `remote` sees, by content row. */
  async function storedVersion(units: readonly UnitWrite[], remote: string) {
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

  it('a stored unit has the fingerprint of writing it as it is; any other metadata, file or source does not', async () => {
    const plain = unit('plain');
    const { index, count } = await storedVersion([plain, unit('other')], 'https://a.example/');
    expect(count).toBe(2);
    const same = store.unitFingerprints([{ ...plain, key: { name: 'plain' }, metadata: { tags: ['x', 'y'], size: 5 } }]);
    expect(index.contentRowOf(same, 0)).toBeGreaterThan(0);
    const changed = store.unitFingerprints([
      { ...plain, metadata: { size: 6, tags: ['x', 'y'] } },
      { ...plain, artifacts: [{ relativePath: 'plain.bin', sha256: hex('bytes') }] },
      { ...plain, artifacts: [...plain.artifacts, { relativePath: 'more.bin', sha256: null }] },
      { ...plain, remotes: [{ ...remoteA('plain.bin'), size: 6 }] },
      { ...plain, remotes: [] },
    ]);
    for (let i = 0; i < 5; i++) expect(index.contentRowOf(changed, i * FINGERPRINT_FIELDS)).toBe(-1);
  });

  it("only the asking remote's sources count: a unit two upstreams list matches each upstream's own write", async () => {
    const shared = unit('shared', { remotes: [remoteA('shared.bin'), remoteB('shared.bin')] });
    const { index } = await storedVersion([shared], 'https://b.example/');
    expect(index.contentRowOf(store.unitFingerprints([{ ...shared, remotes: [remoteB('shared.bin')] }]), 0)).toBeGreaterThan(0);
    expect(index.contentRowOf(store.unitFingerprints([{ ...shared, remotes: [remoteA('shared.bin')] }]), 0)).toBe(-1);
    expect(index.contentRowOf(store.unitFingerprints([shared]), 0)).toBe(-1);
  });

  it('marking content rows seen keeps them in a mirror version; the rows not marked are removed', async () => {
    const units = [unit('kept'), unit('gone')];
    const { repo, index } = await storedVersion(units, 'https://a.example/');
    const version = await store.beginVersion(repo.id);
    const keptRow = index.contentRowOf(store.unitFingerprints([units[0]!]), 0);
    await store.markSeen(repo.id, version, [keptRow]);
    expect(await store.unassociateUnseen(repo.id, version, false)).toEqual({ file: 1 });
    await store.commitVersion(repo.id, version);
    const left: string[] = [];
    for await (const key of store.repoUnitKeys(repo.id, version)) left.push(String(key.key.name));
    expect(left).toEqual(['kept']);
  });

  it('reads a version of many units of several types page by page', async () => {
    const units = Array.from({ length: 2500 }, (_, i) => unit(`u${i}`, { typeId: i % 3 === 0 ? 'rpm.package' : 'file' }));
    const { index, count } = await storedVersion(units, 'https://a.example/');
    expect(count).toBe(2500);
    const fingerprints = store.unitFingerprints(units);
    const rows = new Set<number>();
    for (let i = 0; i < units.length; i++) rows.add(index.contentRowOf(fingerprints, i * FINGERPRINT_FIELDS));
    expect(rows.size).toBe(2500);
    expect(rows.has(-1)).toBe(false);
  });
});
