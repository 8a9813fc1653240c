import { notesImporter } from './fixtures/conduit-plugins';
import { startTempHost, unitTitles, type TempHost } from './fixtures/temp-host';

const URL = 'file:///dev/null';

/** What the embedding API's version and unit methods do, on a host with the conduit-style notes importer. */
describe('repository changes through the host', () => {
  let t: TempHost;
  beforeEach(async () => {
    t = await startTempHost({ plugins: [notesImporter], batchSize: 3 });
    await t.host.createRepository({ name: 'r' });
    await t.host.sync('r', { importer: 'notes', url: URL, config: { count: 8 } });
  });
  afterEach(async () => t.close());

  it('each change commits one version, told as a version.committed event by a user, recorded with what made it', async () => {
    const committed: unknown[] = [];
    t.host.events.on('version.committed', (event) => void committed.push(event));
    const removed = await t.host.removeUnits('r', 'notes.note', { filter: 'title in (note-1, note-2) or title=note-7' });
    expect(removed).toMatchObject({ version: 2, newVersion: true, removed: { 'notes.note': 3 }, deletedVersions: [], warnings: [] });
    // keys streamed in batches of the host's batch size (3 here)
    async function* keys() {
      for (const title of ['note-1', 'note-2', 'note-7', 'note-0']) yield { title };
    }
    expect(await t.host.addUnits('r', 'notes.note', { keys: keys() })).toMatchObject({ version: 3, added: { 'notes.note': 3 } });
    expect(await t.host.rollback('r', 2)).toMatchObject({ version: 4, removed: { 'notes.note': 3 } });
    expect(committed).toEqual([
      { repository: 'r', version: 2, by: 'user', added: {}, removed: { 'notes.note': 3 } },
      { repository: 'r', version: 3, by: 'user', added: { 'notes.note': 3 }, removed: {} },
      { repository: 'r', version: 4, by: 'user', added: {}, removed: { 'notes.note': 3 } },
    ]);
    expect((await t.host.versions('r')).map((v) => [v.version, v.kind, v.note, v.counts['notes.note']])).toEqual([
      [1, 'sync', null, 8],
      [2, 'modify', "remove 'notes.note' units where title in (note-1, note-2) or title=note-7", 5],
      [3, 'modify', "add 'notes.note' units by key", 8],
      [4, 'rollback', 'rollback to version 2', 5],
    ]);
  });

  it('a diff streams the changes between any two versions, either way round', async () => {
    await t.host.removeUnits('r', 'notes.note', { filter: 'title=note-[0-3]' });
    const changes: string[] = [];
    for await (const change of t.host.diffVersions('r', 2, 1)) changes.push(`${change.change} ${String(change.key['title'])}`);
    expect(changes.sort()).toEqual(['added note-0', 'added note-1', 'added note-2', 'added note-3']);
    expect(await t.host.countVersionChanges('r', 1, 2)).toEqual({ added: {}, removed: { 'notes.note': 4 } });
  });

  it('retention deletes the versions beyond it after each commit, the syncs too, and what is left reads as it was', async () => {
    await t.host.updateRepository('r', { retainVersions: 2 });
    const titles = await unitTitles(t.host, 'r');
    await t.host.sync('r', { config: { count: 10 } });
    await t.host.sync('r', { config: { count: 12 } });
    expect((await t.host.versions('r')).map((v) => v.version)).toEqual([2, 3]);
    expect((await t.host.history('r', 1))[0]?.report?.log).toEqual(expect.arrayContaining([expect.stringContaining('retention deleted version 1')]));
    expect(await unitTitles(t.host, 'r')).toHaveLength(12);
    const readVersion1 = async () => {
      for await (const unit of t.host.units('r', { version: 1 })) void unit;
    };
    await expect(readVersion1()).rejects.toMatchObject({ code: 'TRIBUTARY_ERR_VERSION_NOT_FOUND' });
    expect(titles).toHaveLength(8);
    // a bad retention is refused before anything changes
    await expect(t.host.updateRepository('r', { retainVersions: 0 })).rejects.toMatchObject({ code: 'TRIBUTARY_ERR_INVALID_ARGUMENT' });
    expect((await t.host.getRepository('r')).retainVersions).toBe(2);
  });

  it('a filter that matches nothing, or keys none of which the repository holds, commit nothing', async () => {
    await expect(t.host.removeUnits('r', 'notes.note', { filter: 'title=nope*' })).rejects.toMatchObject({ code: 'TRIBUTARY_ERR_UNIT_NOT_FOUND' });
    await expect(t.host.removeUnits('r', 'notes.note', { keys: [{ title: 'nope' }, { title: 'neither' }] })).rejects.toMatchObject({
      code: 'TRIBUTARY_ERR_UNIT_NOT_FOUND',
      message: expect.stringContaining('none of the 2'),
    });
    await expect(t.host.addUnits('r', 'notes.note', { filter: 'title=(' })).rejects.toMatchObject({ code: 'TRIBUTARY_ERR_FILTER_INVALID' });
    await expect(t.host.cleanupOrphans({ protectMinutes: -1 })).rejects.toMatchObject({ code: 'TRIBUTARY_ERR_INVALID_ARGUMENT' });
    expect((await t.host.getRepository('r')).latestVersion).toBe(1);
  });
});
