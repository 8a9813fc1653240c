import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { isTributaryError, rootTributaryError } from '@tributary/plugin-api';
import { holds, notesImporter } from './fixtures/conduit-plugins';
import { startTempHost, unitTitles, type TempHost } from './fixtures/temp-host';

const URL = 'file:///dev/null';

describe('host syncs through the conduit', () => {
  let t: TempHost;
  beforeEach(async () => {
    t = await startTempHost({ plugins: [notesImporter], batchSize: 100 });
    await t.host.createRepository({ name: 'r' });
  });
  afterEach(async () => t.close());

  it('a first sync commits version 1 with every upstream unit and records history', async () => {
    const outcome = await t.host.sync('r', { importer: 'notes', url: URL, config: { count: 25 } });
    expect(outcome.version).toBe(1);
    expect(outcome.report.added).toEqual({ 'notes.note': 25 });
    expect((await unitTitles(t.host, 'r')).length).toBe(25);
    const [record] = await t.host.history('r');
    expect(record?.status).toBe('succeeded');
    expect(record?.report?.added).toEqual({ 'notes.note': 25 });
  });

  it('a sync that fails halfway leaves content and version exactly as before, with no temp files', async () => {
    await t.host.sync('r', { importer: 'notes', url: URL, config: { count: 10, withFiles: true } });
    const before = await unitTitles(t.host, 'r');
    const beforeVersion = (await t.host.getRepository('r')).latestVersion;

    const failure = await t.host.sync('r', { config: { count: 500, withFiles: true, chunk: 50, failAfter: 250, revision: 2 } }).catch((e: unknown) => e);
    expect(isTributaryError(failure, 'TRIBUTARY_ERR_SYNC_FAILED')).toBe(true);
    expect(rootTributaryError((failure as Error).cause)?.code).toBe('TRIBUTARY_ERR_NETWORK');
    expect((failure as Error).message).toMatch(/repository 'r'.*importer 'notes'/);

    expect((await t.host.getRepository('r')).latestVersion).toBe(beforeVersion);
    expect(await unitTitles(t.host, 'r')).toEqual(before);
    expect(await t.tempLeftovers()).toEqual([]);
    const [failed] = await t.host.history('r');
    expect(failed?.status).toBe('failed');
    expect((failed?.error as { code: string }).code).toBe('TRIBUTARY_ERR_SYNC_FAILED');

    // and the next good sync succeeds
    const next = await t.host.sync('r', { config: { count: 30 } });
    expect(next.version).toBe(beforeVersion + 1);
    expect((await unitTitles(t.host, 'r')).length).toBe(30);
  });

  it('a second concurrent sync of the same repository gets TRIBUTARY_ERR_REPO_BUSY and never interleaves', async () => {
    let reached!: () => void;
    const reachedP = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    holds.set('busy', { reached, release: new Promise<void>((r) => (release = r)) });
    const first = t.host.sync('r', { importer: 'notes', url: URL, config: { count: 20, holdKey: 'busy' } });
    await reachedP;
    const second = await t.host.sync('r', { importer: 'notes', url: URL, config: { count: 5 } }).catch((e: unknown) => e);
    expect(isTributaryError(second, 'TRIBUTARY_ERR_REPO_BUSY')).toBe(true);
    release();
    const outcome = await first;
    expect(outcome.version).toBe(1);
    expect((await unitTitles(t.host, 'r')).length).toBe(20);
    // the lease is released: a later sync runs
    await expect(t.host.sync('r', { config: { count: 21 } })).resolves.toMatchObject({ version: 2 });
    holds.delete('busy');
  });

  it('unassociateUnits removes units by key, committing a new version', async () => {
    await t.host.sync('r', { importer: 'notes', url: URL, config: { count: 5 } });
    const removed = await t.host.unassociateUnits('r', 'notes.note', [{ title: 'note-1' }, { title: 'note-3' }, { title: 'not-there' }]);
    expect(removed).toBe(2);
    expect(await unitTitles(t.host, 'r')).toEqual(['note-0', 'note-2', 'note-4']);
    expect((await t.host.getRepository('r')).latestVersion).toBe(2);
    expect((await t.host.versions('r')).map((v) => [v.version, v.kind, v.counts, v.removed])).toEqual([
      [1, 'sync', { 'notes.note': 5 }, {}],
      [2, 'modify', { 'notes.note': 3 }, { 'notes.note': 2 }],
    ]);
    // the earlier version still reads as it was
    const v1: string[] = [];
    for await (const u of t.host.units('r', { version: 1 })) v1.push(String(u.key.title));
    expect(v1.length).toBe(5);
  });

  it('a mirror sync removes units gone upstream but keeps units a user associated', async () => {
    await t.host.createRepository({ name: 'other' });
    await t.host.sync('other', { importer: 'notes', url: URL, config: { count: 12 } });
    await t.host.sync('r', { importer: 'notes', url: URL, config: { count: 8 } });
    // a user adds note-10 (stored through 'other') to r
    expect(await t.host.associateUnits('r', 'notes.note', [{ title: 'note-10' }])).toBe(1);
    const outcome = await t.host.sync('r', { config: { count: 5, mirror: true }, mirror: true });
    expect(outcome.report.removed).toEqual({ 'notes.note': 3 });
    expect(await unitTitles(t.host, 'r')).toEqual(['note-0', 'note-1', 'note-10', 'note-2', 'note-3', 'note-4']);
  });

  it('metadata changes count as updates, not as add and remove', async () => {
    await t.host.sync('r', { importer: 'notes', url: URL, config: { count: 4 } });
    const outcome = await t.host.sync('r', { config: { count: 4, revision: 7 } });
    expect(outcome.report.updated).toEqual({ 'notes.note': 4 });
    expect(outcome.report.added).toEqual({});
    // the repository shows the new metadata from a new version on: a committed version never changes
    expect(outcome.newVersion).toBe(true);
  });

  it('config failing the plugin schema is refused before anything runs', async () => {
    const error = await t.host.sync('r', { importer: 'notes', url: URL, config: { count: -1 } }).catch((e: unknown) => e);
    expect(isTributaryError(error, 'TRIBUTARY_ERR_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/count/);
    expect(await t.host.history('r')).toEqual([]);
  });
});

describe('batching', () => {
  it('adding and associating 10,000 units costs round trips proportional to 10,000 / batch size', async () => {
    const measure = async (batchSize: number) => {
      const t = await startTempHost({ plugins: [notesImporter], batchSize });
      try {
        await t.host.createRepository({ name: 'big' });
        const before = t.host.store.stats.roundTrips;
        await t.host.sync('big', { importer: 'notes', url: URL, config: { count: 10_000, chunk: 10_000 } });
        expect((await t.host.countUnits('big'))['notes.note']).toBe(10_000);
        return t.host.store.stats.roundTrips - before;
      } finally {
        await t.close();
      }
    };
    const with1000 = await measure(1000);
    const with250 = await measure(250);
    // saveUnits = one upsert + one associate per batch, plus a fixed number of sync bookkeeping trips
    expect(with1000).toBeLessThan(2 * (10_000 / 1000) + 20);
    expect(with250).toBeGreaterThanOrEqual(2 * (10_000 / 250));
    expect(with250).toBeLessThan(2 * (10_000 / 250) + 20);
  });
});

describe('orphan cleanup', () => {
  it('removes units in no repository and the files of artifacts no unit uses, and nothing else', async () => {
    const t = await startTempHost({ plugins: [notesImporter] });
    try {
      await t.host.createRepository({ name: 'keep' });
      await t.host.createRepository({ name: 'drop' });
      await t.host.sync('keep', { importer: 'notes', url: URL, config: { count: 3, withFiles: true } });
      await t.host.sync('drop', { importer: 'notes', url: URL, config: { count: 5, withFiles: true, revision: 9 } });
      await t.host.deleteRepository('drop');
      // stored moments ago: the default protection time (60 minutes) keeps them
      expect(await t.host.cleanupOrphans()).toMatchObject({ units: 0, artifacts: 0 });
      const result = await t.host.cleanupOrphans({ protectMinutes: 0 });
      // units are shared by key: note-0..2 stay (in 'keep'), which still shows the bytes its own sync
      // stored (a committed version never changes); note-3/4 and the three files 'drop' gave
      // note-0..2, which no remaining version shows, are orphans
      expect(result).toMatchObject({ units: 2, artifacts: 3 + 2 });
      const kept: string[] = [];
      for await (const u of t.host.units('keep')) for (const a of u.artifacts) kept.push(a.sha256!);
      expect(kept).toHaveLength(3);
      for (const sha of kept) expect(await t.host.storage.has(sha)).toBe(true);
      const stored = (await readdir(path.join(t.dir, 'storage', 'artifacts'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
      expect(stored).toHaveLength(3);
      expect(await t.host.cleanupOrphans({ protectMinutes: 0 })).toMatchObject({ units: 0, artifacts: 0 });
    } finally {
      await t.close();
    }
  });

  it('refuses to run while a sync holds a lease', async () => {
    const t = await startTempHost({ plugins: [notesImporter] });
    try {
      await t.host.createRepository({ name: 'r' });
      let reached!: () => void;
      const reachedP = new Promise<void>((r) => (reached = r));
      let release!: () => void;
      holds.set('orphans', { reached, release: new Promise<void>((r) => (release = r)) });
      const running = t.host.sync('r', { importer: 'notes', url: URL, config: { count: 2, holdKey: 'orphans' } });
      await reachedP;
      await expect(t.host.cleanupOrphans()).rejects.toMatchObject({ code: 'TRIBUTARY_ERR_REPO_BUSY' });
      release();
      await running;
      holds.delete('orphans');
    } finally {
      await t.close();
    }
  });
});
