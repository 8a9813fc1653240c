import { defineImporter, type ExistingUnit, type ImportConduit, type UnitKey } from '@tributary/plugin-api';
import type { HostConduit } from '../src/conduit/host-conduit';
import { startTempHost, type TempHost } from './fixtures/temp-host';

let answers: (ExistingUnit | undefined)[] = [];

/** Saves two units on its first sync; on later ones asks the host's conduit for keys by key. */
const probe = defineImporter<{ lookup: boolean; batch: number }>({
  name: 'probe',
  version: '1.0.0',
  hostApi: '^1.0.0',
  contentTypes: [{ id: 'probe.pkg', keyFields: ['name', 'version'] }],
  async sync(conduit: ImportConduit, config) {
    if (!config.lookup) {
      await conduit.saveUnits([
        { typeId: 'probe.pkg', key: { name: 'bash', version: '5' }, metadata: { n: 1 } },
        { typeId: 'probe.pkg', key: { name: 'zsh', version: '6' }, metadata: { n: 2 } },
      ]);
      return;
    }
    // the host's conduit is the one its default stages use: HostConduit
    const host = conduit as HostConduit;
    const keys: UnitKey[] = [
      { version: '6', name: 'zsh' },
      { name: 'fish', version: '1' },
      ...Array.from({ length: config.batch }, () => ({ name: 'bash', version: '5' })),
    ];
    answers = await host.findUnitsByKey('probe.pkg', keys);
  },
});

describe('RepoConduit.findUnitsByKey', () => {
  let t: TempHost;
  beforeAll(async () => {
    t = await startTempHost({ plugins: [probe], batchSize: 3 });
    await t.host.createRepository({ name: 'r' });
    await t.host.sync('r', { importer: 'probe', url: 'file:///dev/null', config: { lookup: false, batch: 0 } });
  });
  afterAll(async () => t.close());

  it('answers each key in order, across store batches, with its stored unit or undefined', async () => {
    await t.host.sync('r', { importer: 'probe', url: 'file:///dev/null', config: { lookup: true, batch: 4 } });
    expect(answers.map((unit) => unit && [unit.key['name'], unit.metadata['n']])).toEqual([
      ['zsh', 2],
      undefined,
      ['bash', 1],
      ['bash', 1],
      ['bash', 1],
      ['bash', 1],
    ]);
  });
});
