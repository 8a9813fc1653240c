/**
 * `tributary export` of a file repository's publication: refuses a non-empty target unless
 * --clean (which empties it first, never the storage), exports older versions with --version N,
 * and writes a tree with a PULP_MANIFEST that a file: sync reads back.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cliBuilt, runCliIn, spawnCli } from './cli-process';
import { manifestLines, patternBytes, sha256Hex, sortedManifest, startUpstream, withManifest, type Files, type Upstream } from './fixtures/serve/serve-harness';

const V1: Files = {
  'a.txt': Buffer.from('alpha, version 1\n'),
  'dir/b.txt': Buffer.from('bravo\n'),
  'dir/sub/c d,e #1.txt': Buffer.from('charlie\n'),
  'big.bin': patternBytes(600 * 1024 + 3, 61),
  'empty.bin': Buffer.alloc(0),
};
const V2: Files = (() => {
  const files: Files = { ...V1, 'a.txt': Buffer.from('alpha, version 2\n'), 'new.txt': Buffer.from('new\n') };
  delete files['dir/b.txt'];
  return files;
})();

/** Every regular file under `dir`, relative, with '/' separators. */
function tree(dir: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const name of readdirSync(dir, { recursive: true }).map(String)) {
    const full = path.join(dir, name);
    if (statSync(full).isFile()) out[name.split(path.sep).join('/')] = readFileSync(full);
  }
  return out;
}

function expectTree(dir: string, files: Files): void {
  const got = tree(dir);
  expect(Object.keys(got).sort()).toEqual([...Object.keys(files), 'PULP_MANIFEST'].sort());
  for (const [name, body] of Object.entries(files)) expect({ name, sha: sha256Hex(got[name]!) }).toEqual({ name, sha: sha256Hex(body) });
  expect(sortedManifest(got['PULP_MANIFEST']!)).toEqual(manifestLines(files).sort());
}

describe('tributary export', () => {
  let home: string;
  let work: string;
  let upstream: Upstream;
  const cli = (...argv: string[]) => runCliIn(home, argv);

  beforeAll(async () => {
    if (!cliBuilt()) throw new Error('the CLI is not built: run `npx tsc -b` (npm test does) before this suite');
    home = mkdtempSync(path.join(os.tmpdir(), 'serve-export-'));
    work = mkdtempSync(path.join(os.tmpdir(), 'serve-export-out-'));
    upstream = await startUpstream(withManifest(V1));
    const first = await cli('sync', 'repo', '--create', '--importer', 'file', '--url', upstream.urlFor('PULP_MANIFEST'), '--policy', 'immediate');
    expect([first.code, first.stderr]).toEqual([0, '']);
    upstream.setFiles(withManifest(V2));
    // version 2 on demand: the export fetches what is not stored
    const second = await cli('sync', 'repo', '--mirror', '--policy', 'on_demand');
    expect([second.code, second.stderr]).toEqual([0, '']);
  });
  afterAll(async () => {
    await upstream?.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('into a non-empty directory: TRIBUTARY_ERR_EXPORT_TARGET_NOT_EMPTY, exit 1, the message names --clean, nothing written', async () => {
    const out = path.join(work, 'busy');
    mkdirSync(path.join(out, 'stale-dir'), { recursive: true });
    writeFileSync(path.join(out, 'stale.txt'), 'stale\n');
    writeFileSync(path.join(out, 'stale-dir', 'x'), 'x\n');

    const run = await spawnCli(['--home', home, 'export', 'repo', out]).done;
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^error TRIBUTARY_ERR_EXPORT_TARGET_NOT_EMPTY: .*--clean/);
    expect(Object.keys(tree(out)).sort()).toEqual(['stale-dir/x', 'stale.txt']);

    const json = await cli('--json', 'export', 'repo', out);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'TRIBUTARY_ERR_EXPORT_TARGET_NOT_EMPTY', message: expect.stringContaining('--clean') } });
  });

  it('--clean empties the target first: stale files disappear, the latest version is exported (on-demand files fetched)', async () => {
    const out = path.join(work, 'busy');
    const run = await cli('export', 'repo', out, '--clean');
    expect([run.code, run.stderr]).toEqual([0, '']);
    expect(existsSync(path.join(out, 'stale.txt'))).toBe(false);
    expect(existsSync(path.join(out, 'stale-dir'))).toBe(false);
    expectTree(out, V2);
  });

  it('--version 1 exports the older version (into an empty directory, and over a newer export with --clean)', async () => {
    const fresh = path.join(work, 'v1');
    const run = await cli('export', 'repo', fresh, '--version', '1');
    expect([run.code, run.stderr]).toEqual([0, '']);
    expectTree(fresh, V1);

    const over = path.join(work, 'busy');
    const again = await cli('export', 'repo', over, '--version', '1', '--clean');
    expect([again.code, again.stderr]).toEqual([0, '']);
    expectTree(over, V1);
    expect(existsSync(path.join(over, 'new.txt'))).toBe(false);

    const missing = await cli('export', 'repo', path.join(work, 'v9'), '--version', '9');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error TRIBUTARY_ERR_VERSION_NOT_FOUND: /);
  });

  it('the exported tree syncs again through a file: url and holds the same files', async () => {
    const latest = path.join(work, 'latest');
    expect((await cli('export', 'repo', latest)).code).toBe(0);
    for (const [name, dir, files] of [
      ['copy-v1', path.join(work, 'v1'), V1],
      ['copy-v2', latest, V2],
    ] as const) {
      const url = pathToFileURL(path.join(dir, 'PULP_MANIFEST')).href;
      const sync = await cli('sync', name, '--create', '--importer', 'file', '--url', url, '--policy', 'immediate');
      expect([sync.code, sync.stderr]).toEqual([0, '']);
      const units = (await cli('--json', 'units', name)).stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { key: { relativePath: string; sha256: string }; artifacts: { stored: boolean }[] });
      expect(Object.fromEntries(units.map((u) => [u.key.relativePath, u.key.sha256]))).toEqual(
        Object.fromEntries(Object.entries(files).map(([n, body]) => [n, sha256Hex(body)])),
      );
      expect(units.every((u) => u.artifacts.every((a) => a.stored))).toBe(true);
    }
  });

  it('--clean refuses a directory holding the storage', async () => {
    const run = await cli('export', 'repo', home, '--clean');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error TRIBUTARY_ERR_INVALID_ARGUMENT: refusing to empty /);
    expect(existsSync(path.join(home, 'storage'))).toBe(true);
    expect((await cli('repo', 'show', 'repo')).code).toBe(0);
  });
});
