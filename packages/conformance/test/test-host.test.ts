import { existsSync } from 'node:fs';
import path from 'node:path';
import { startFixtureServer, startTestHost, type FixtureServer, type TestHost } from '@tributary/conformance';
import { KIT_FIXTURES, kitNotesImporter } from './fixtures/kit-notes-importer';

describe('startTestHost', () => {
  let server: FixtureServer;
  let shared: TestHost;
  let hostOfFirstTest: string | undefined;

  beforeAll(async () => {
    server = await startFixtureServer({ files: 'files' in KIT_FIXTURES.initial ? KIT_FIXTURES.initial.files : {} });
    shared = await startTestHost({ plugins: [kitNotesImporter()] });
  });
  afterAll(() => server.close());

  it('gives a real host on the embedded store in a temporary directory', async () => {
    const testHost = await startTestHost({ plugins: [kitNotesImporter()] });
    hostOfFirstTest = testHost.dir;
    await testHost.host.createRepository({ name: 'notes' });
    await testHost.host.sync('notes', { importer: 'kitnotes', url: server.url });

    const units = await testHost.units('notes');
    expect(units.map((u) => u.key.name).sort()).toEqual(['alpha', 'beta', 'delta', 'gamma']);
    expect(units.every((u) => u.artifacts.every((a) => a.stored))).toBe(true);
    expect(await testHost.tempLeftovers()).toEqual([]);
    expect(path.dirname(testHost.storageRoot)).toBe(testHost.dir);
    expect(existsSync(path.join(testHost.storageRoot, 'catalog.db'))).toBe(true);
  });

  it('removes a host started in a test once that test ends', () => {
    expect(hostOfFirstTest).toBeDefined();
    expect(existsSync(hostOfFirstTest!)).toBe(false);
  });

  it('keeps a host started in beforeAll for the whole file', async () => {
    expect(existsSync(shared.dir)).toBe(true);
    await shared.host.createRepository({ name: 'kept' });
    expect((await shared.host.listRepositories()).map((r) => r.name)).toEqual(['kept']);
  });

  it('close() removes the host at once, and may be called again', async () => {
    const testHost = await startTestHost({ plugins: [] });
    await testHost.close();
    expect(existsSync(testHost.dir)).toBe(false);
    await expect(testHost.close()).resolves.toBeUndefined();
  });

  it('refuses an invalid plugin with the host’s typed error', async () => {
    await expect(startTestHost({ plugins: [{ name: 'not-a-plugin' } as never] })).rejects.toMatchObject({ code: 'TRIBUTARY_ERR_PLUGIN_BRAND' });
  });
});
