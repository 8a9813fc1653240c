import { notesImporter } from './fixtures/conduit-plugins';
import { startTempHost, type TempHost } from './fixtures/temp-host';

const URL = 'file:///dev/null';

describe('orphan cleanup prunes publications nothing serves', () => {
  let t: TempHost;
  beforeEach(async () => {
    t = await startTempHost({ plugins: [notesImporter], batchSize: 100 });
    await t.host.createRepository({ name: 'r' });
    for (const revision of [1, 2, 3]) await t.host.sync('r', { importer: 'notes', url: URL, config: { count: 5 + revision, withFiles: true, revision } });
  });
  afterEach(async () => t.close());

  const versions = async () => (await t.host.store.listPublications((await t.host.getRepository('r')).id)).map((p) => p.version).sort();

  it('keeps the newest publication and those of pinned versions; the others are built again when asked for', async () => {
    for (const version of [1, 2, 3]) await t.host.publish('r', { version });
    await t.host.distributions.create('pinned', { repository: 'r', basePath: 'r/v1', version: 1 });
    expect(await versions()).toEqual([1, 2, 3]);

    // too young to prune under the default protection time
    expect(await t.host.cleanupOrphans()).toMatchObject({ publications: 0 });
    expect(await t.host.cleanupOrphans({ protectMinutes: 0 })).toMatchObject({ publications: 1 });
    expect(await versions()).toEqual([1, 3]);

    const again = await t.host.publish('r', { version: 2 });
    expect(again).toMatchObject({ version: 2, complete: true });
    expect(await versions()).toEqual([1, 2, 3]);
  });
});
