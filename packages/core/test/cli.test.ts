import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '@tributary/core';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(home: string, ...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['--home', home, ...argv], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
    cwd: home,
  });
  return { code, stdout, stderr };
}

describe('tributary CLI', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'tributary-cli-'));
  });
  afterEach(async () => rm(home, { recursive: true, force: true }));

  it('creates, lists, shows and deletes repositories, in text and JSON', async () => {
    expect(await cli(home, 'repo', 'create', 'alpha')).toMatchObject({ code: 0, stdout: "created repository 'alpha'\n" });
    expect((await cli(home, '--json', 'repo', 'create', 'beta', '--importer', 'file', '--url', 'https://example.org/PULP_MANIFEST')).code).toBe(0);
    const list = await cli(home, '--json', 'repo', 'list');
    const rows = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; latestVersion: number; importer: string | null });
    expect(rows.map((r) => r.name).sort()).toEqual(['alpha', 'beta']);
    expect(rows.find((r) => r.name === 'beta')).toMatchObject({ importer: 'file', latestVersion: 0 });

    const text = await cli(home, 'repo', 'list');
    expect(text.stdout).toMatch(/^NAME\s+VERSION\s+IMPORTER\s+FEED\n/);

    const show = await cli(home, '--json', 'repo', 'show', 'beta');
    expect(JSON.parse(show.stdout)).toMatchObject({ name: 'beta', units: {}, lastSync: null });

    expect((await cli(home, 'repo', 'delete', 'alpha')).code).toBe(0);
    const missing = await cli(home, 'repo', 'show', 'alpha');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error TRIBUTARY_ERR_REPO_NOT_FOUND: repository 'alpha' does not exist/);
  });

  it('refuses a duplicate repository and bad arguments with typed errors and exit codes', async () => {
    await cli(home, 'repo', 'create', 'alpha');
    const dup = await cli(home, '--json', 'repo', 'create', 'alpha');
    expect(dup.code).toBe(1);
    expect(JSON.parse(dup.stderr).error.code).toBe('TRIBUTARY_ERR_REPO_EXISTS');
    const bad = await cli(home, 'repo', 'create', '../evil');
    expect(bad.stderr).toMatch(/TRIBUTARY_ERR_INVALID_ARGUMENT/);
    const unknown = await cli(home, 'frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/TRIBUTARY_ERR_USAGE: unknown command 'frobnicate'/);
    const badFlag = await cli(home, 'repo', 'list', '--bogus');
    expect(badFlag.code).toBe(2);
    const noImporter = await cli(home, 'sync', 'alpha', '--importer', 'nope', '--url', 'file:///x');
    expect(noImporter.stderr).toMatch(/TRIBUTARY_ERR_PLUGIN_NOT_FOUND: no importer named 'nope' is registered \(registered: file, rpm\)/);
  });

  it('lists the bundled importers', async () => {
    const out = await cli(home, '--json', 'plugins', 'list');
    const names = out.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { name: string }).name);
    expect(names).toEqual(['file', 'rpm']);
  });

  it('loads a third-party plugin with --plugin and rejects a non-plugin module with its code', async () => {
    const bad = await cli(home, '--plugin', path.join(__dirname, 'fixtures', 'temp-host.ts'), 'plugins', 'list');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/TRIBUTARY_ERR_PLUGIN_BRAND/);
  });
});
