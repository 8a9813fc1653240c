import path from 'node:path';
import { defineImporter, isTributaryError } from '@tributary/plugin-api';
import { startTempHost, type TempHost } from './fixtures/temp-host';

const attempts: Record<string, string> = {};

/** A conduit-style plugin that asks for each candidate path and records what the host answered. */
const pathProbe = defineImporter<{ candidates: string[] }>({
  name: 'probe',
  version: '1.0.0',
  hostApi: '^1.0.0',
  contentTypes: [{ id: 'probe.file', keyFields: ['path'] }],
  async sync(conduit, config) {
    for (const candidate of config.candidates) {
      try {
        attempts[candidate] = await conduit.requestUnitFilename('probe.file', candidate);
      } catch (error) {
        attempts[candidate] = isTributaryError(error) ? error.code : `untyped ${String(error)}`;
      }
    }
  },
});

describe('requestUnitFilename', () => {
  let t: TempHost;
  beforeAll(async () => {
    t = await startTempHost({ plugins: [pathProbe] });
    await t.host.createRepository({ name: 'r' });
  });
  afterAll(async () => t.close());

  it('answers a path inside the storage area, segregated by type, and refuses traversal', async () => {
    const bad = ['../escape.txt', 'a/../../b', '/etc/passwd', 'a\u0000b', 'a//b', './a', 'C:/win', 'a\\..\\b', ''];
    await t.host.sync('r', { importer: 'probe', url: 'file:///dev/null', config: { candidates: ['pkgs/a.rpm', ...bad] } });
    const storageRoot = path.join(t.dir, 'storage');
    expect(attempts['pkgs/a.rpm']!.startsWith(storageRoot + path.sep)).toBe(true);
    expect(attempts['pkgs/a.rpm']).toMatch(/probe\.file[/\\]pkgs[/\\]a\.rpm$/);
    for (const candidate of bad) expect([candidate, attempts[candidate]]).toEqual([candidate, 'TRIBUTARY_ERR_PATH_UNSAFE']);
  });
});
