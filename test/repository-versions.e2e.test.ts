/**
 * End-to-end: managing what an rpm repository holds, through the CLI, on a real createrepo_c
 * repository served over HTTP: three mirror syncs of an upstream that changes, the versions they
 * made, a streamed diff, a rollback that makes a version equal to an older one, retention, and
 * orphan cleanup removing exactly the files no remaining version holds.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startFixtureServer, type FixtureServer } from '@tributary/conformance';
import { buildRpmRepo, type BuiltRpm } from './fixtures/rpm/build-rpm-repo';
import { runCliIn } from './cli-process';

const HELLO_10 = 'tb-hello-1.0-1.noarch.rpm';
const HELLO_11 = 'tb-hello-1.1-1.noarch.rpm';
const TOOLS = 'tb-tools-2.0-3.fc40.noarch.rpm';
const EXTRAS = 'tb-extras-0.9-2.noarch.rpm';

const lines = (text: string) => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
const nevraOf = (key: Record<string, unknown>) => `${key['name']}-${key['version']}-${key['release']}`;

async function sha256Of(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

/** The sha256 of every file under storage/artifacts (named by their sha256). */
async function storedFiles(home: string): Promise<Set<string>> {
  const entries = await readdir(path.join(home, 'storage', 'artifacts'), { recursive: true, withFileTypes: true });
  return new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
}

describe('repository versions of an rpm mirror', () => {
  let work: string;
  let home: string;
  let server: FixtureServer;
  let rpms: readonly BuiltRpm[];
  const url = (state: string) => server.urlFor(`${state}/repo/`);
  const cli = async (...argv: string[]) => {
    const run = await runCliIn(home, argv);
    if (run.code !== 0) throw new Error(`tributary ${argv.join(' ')} failed (${run.code}): ${run.stderr}`);
    return run.stdout;
  };
  const failure = async (...argv: string[]) => {
    const run = await runCliIn(home, ['--json', ...argv]);
    expect(run.code).not.toBe(0);
    return (JSON.parse(run.stderr) as { error: { code: string; message: string } }).error;
  };

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'tributary-versions-e2e-'));
    home = path.join(work, 'home');
    const upstream = path.join(work, 'upstream');
    // 1: base and hello 1.0; 2: + tools and extras; 3: hello 1.0 and extras gone, hello 1.1 in
    await buildRpmRepo(path.join(upstream, 'one', 'repo'), { exclude: [HELLO_11, TOOLS, EXTRAS] });
    await buildRpmRepo(path.join(upstream, 'two', 'repo'), { exclude: [HELLO_11] });
    const all = await buildRpmRepo(path.join(upstream, 'three', 'repo'), { exclude: [HELLO_10, EXTRAS] });
    rpms = (await buildRpmRepo(path.join(upstream, 'every', 'repo'))).rpms;
    expect(all.rpms.map((r) => r.fileName).sort()).toEqual(['tb-base-1.0-1.noarch.rpm', HELLO_11, TOOLS].sort());
    server = await startFixtureServer({ root: upstream });
  });
  afterAll(async () => {
    await server?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('lists, diffs, rolls back, retains and cleans up', async () => {
    await cli('sync', 'mirror', '--create', '--importer', 'rpm', '--url', url('one'), '--mirror');
    await cli('sync', 'mirror', '--url', url('two'), '--mirror');
    await cli('sync', 'mirror', '--url', url('three'), '--mirror');

    // three versions, each made by a sync, with its packages and what it changed
    const versions = lines(await cli('--json', 'versions', 'mirror'));
    expect(versions.map((v) => [v['version'], v['kind']])).toEqual([
      [1, 'sync'],
      [2, 'sync'],
      [3, 'sync'],
    ]);
    expect(versions.map((v) => (v['counts'] as Record<string, number>)['rpm.package'])).toEqual([2, 4, 3]);
    expect(versions.map((v) => [(v['added'] as Record<string, number>)['rpm.package'] ?? 0, (v['removed'] as Record<string, number>)['rpm.package'] ?? 0])).toEqual([
      [2, 0],
      [2, 0],
      [1, 2],
    ]);
    expect(versions.every((v) => typeof v['syncId'] === 'string' && typeof v['createdAt'] === 'string')).toBe(true);
    const table = await cli('versions', 'mirror');
    expect(table.split('\n')[0]).toMatch(/^VERSION\s+CREATED\s+BY\s+UNITS\s+ADDED\s+REMOVED\s+NOTE$/);

    // the diff names exactly the packages that changed between 1 and 3
    const diff = lines(await cli('--json', 'versions', 'diff', 'mirror', '1', '3', '--type', 'rpm.package'));
    expect(diff.map((c) => `${c['change'] === 'added' ? '+' : '-'}${nevraOf(c['key'] as Record<string, unknown>)}`).sort()).toEqual(['+tb-hello-1.1-1', '+tb-tools-2.0-3.fc40', '-tb-hello-1.0-1']);
    expect(diff.every((c) => c['type'] === 'rpm.package')).toBe(true);
    const reverse = lines(await cli('--json', 'versions', 'diff', 'mirror', '3', '1', '--type', 'rpm.package'));
    expect(reverse.map((c) => `${c['change']} ${nevraOf(c['key'] as Record<string, unknown>)}`).sort()).toEqual(['added tb-hello-1.0-1', 'removed tb-hello-1.1-1', 'removed tb-tools-2.0-3.fc40']);
    expect(await cli('versions', 'diff', 'mirror', '2', '3', '--type', 'rpm.package')).toMatch(/version 3 against 2: added 1 rpm\.package unit; removed 2 rpm\.package units\n$/);

    // rollback: version 4 holds exactly what version 1 holds
    const rolledBack = JSON.parse(await cli('--json', 'repo', 'rollback', 'mirror', '1')) as Record<string, unknown>;
    expect(rolledBack).toMatchObject({ repository: 'mirror', version: 4, newVersion: true });
    const one = await cli('--json', 'units', 'mirror', '--version', '1');
    expect(await cli('--json', 'units', 'mirror', '--version', '4')).toBe(one);
    expect(lines(one).filter((u) => u['type'] === 'rpm.package').map((u) => nevraOf(u['key'] as Record<string, unknown>)).sort()).toEqual(['tb-base-1.0-1', 'tb-hello-1.0-1']);
    expect(JSON.parse(await cli('--json', 'versions', 'show', 'mirror', '4'))).toMatchObject({ version: 4, kind: 'rollback', note: 'rollback to version 1', base: 3 });
    // rolling back to the latest commits nothing
    expect(JSON.parse(await cli('--json', 'repo', 'rollback', 'mirror', '4'))).toMatchObject({ version: 4, newVersion: false });

    // the latest cannot be deleted, nor a version that does not exist
    expect(await failure('versions', 'delete', 'mirror', '4')).toMatchObject({ code: 'TRIBUTARY_ERR_VERSION_IN_USE' });
    expect(await failure('versions', 'show', 'mirror', '9')).toMatchObject({ code: 'TRIBUTARY_ERR_VERSION_NOT_FOUND' });

    // retention 2 leaves versions 3 and 4 (version 0, 1 and 2 go)
    const update = JSON.parse(await cli('--json', 'repo', 'update', 'mirror', '--retain-versions', '2')) as Record<string, unknown>;
    expect(update).toMatchObject({ retainVersions: 2, deletedVersions: [0, 1, 2] });
    expect(lines(await cli('--json', 'versions', 'mirror')).map((v) => v['version'])).toEqual([3, 4]);
    // version 4 now compares with version 3, the one before it that is left
    expect(JSON.parse(await cli('--json', 'versions', 'show', 'mirror', '4'))).toMatchObject({ base: 3, added: { 'rpm.package': 1 }, removed: { 'rpm.package': 2 } });
    for (const gone of ['1', '2']) {
      expect(await failure('units', 'mirror', '--version', gone)).toMatchObject({ code: 'TRIBUTARY_ERR_VERSION_NOT_FOUND' });
      expect(await failure('export', 'mirror', path.join(work, `out-${gone}`), '--version', gone)).toMatchObject({ code: 'TRIBUTARY_ERR_VERSION_NOT_FOUND' });
      expect(await failure('publish', 'mirror', '--version', gone)).toMatchObject({ code: 'TRIBUTARY_ERR_VERSION_NOT_FOUND' });
      expect(await failure('distribution', 'create', 'old', '--repository', 'mirror', '--base-path', 'old', '--version', gone)).toMatchObject({ code: 'TRIBUTARY_ERR_VERSION_NOT_FOUND' });
    }
    expect(await cli('--json', 'units', 'mirror', '--version', '4')).toBe(one);
    expect(await failure('repo', 'update', 'mirror', '--retain-versions', '0')).toMatchObject({ code: 'TRIBUTARY_ERR_USAGE' });

    // orphan cleanup removes exactly the files no remaining version holds: tb-extras (only in
    // version 2) among the packages, and version 2's repodata
    const before = await storedFiles(home);
    const held = new Set<string>();
    for (const version of ['3', '4']) {
      for (const unit of lines(await cli('--json', 'units', 'mirror', '--version', version))) {
        for (const artifact of unit['artifacts'] as { sha256: string; stored: boolean }[]) if (artifact.stored) held.add(artifact.sha256);
      }
    }
    const rpmSha = new Map<string, string>();
    for (const rpm of rpms) rpmSha.set(rpm.fileName, await sha256Of(rpm.path));
    expect(before.has(rpmSha.get(EXTRAS)!)).toBe(true);
    expect(held.has(rpmSha.get(EXTRAS)!)).toBe(false);
    // protected: stored moments ago
    expect(JSON.parse(await cli('--json', 'orphans', 'cleanup'))).toMatchObject({ units: 0, artifacts: 0 });
    const cleanup = JSON.parse(await cli('--json', 'orphans', 'cleanup', '--protect-minutes', '0')) as { units: number; artifacts: number };
    const after = await storedFiles(home);
    expect(after).toEqual(held);
    expect(cleanup.artifacts).toBe(before.size - after.size);
    expect(cleanup.artifacts).toBeGreaterThan(1);
    expect(cleanup.units).toBeGreaterThanOrEqual(1);
    const deletedRpms = [...rpmSha].filter(([, sha]) => before.has(sha) && !after.has(sha)).map(([file]) => file);
    expect(deletedRpms).toEqual([EXTRAS]);
    for (const kept of [HELLO_10, HELLO_11, TOOLS, 'tb-base-1.0-1.noarch.rpm']) expect(after.has(rpmSha.get(kept)!)).toBe(true);
    // what remains still reads and exports
    expect(await cli('--json', 'units', 'mirror', '--version', '4')).toBe(one);
    await cli('export', 'mirror', path.join(work, 'export-3'), '--version', '3');
    const exported = await readdir(path.join(work, 'export-3'), { recursive: true });
    expect(exported.filter((f) => f.endsWith('.rpm')).map((f) => path.basename(f)).sort()).toEqual(['tb-base-1.0-1.noarch.rpm', HELLO_11, TOOLS].sort());

    // a version a distribution serves is neither deleted nor retained away
    await cli('distribution', 'create', 'pinned', '--repository', 'mirror', '--base-path', 'pinned', '--version', '3');
    const refused = await failure('versions', 'delete', 'mirror', '3');
    expect(refused).toMatchObject({ code: 'TRIBUTARY_ERR_VERSION_IN_USE', message: expect.stringContaining("distribution 'pinned'") });
    expect(JSON.parse(await cli('--json', 'repo', 'update', 'mirror', '--retain-versions', '1'))).toMatchObject({ retainVersions: 1, deletedVersions: [] });
    expect(lines(await cli('--json', 'versions', 'mirror')).map((v) => v['version'])).toEqual([3, 4]);
    await cli('distribution', 'delete', 'pinned');
    await cli('versions', 'delete', 'mirror', '3');
    expect(lines(await cli('--json', 'versions', 'mirror')).map((v) => v['version'])).toEqual([4]);
    // version 4 now compares with the empty state: everything it holds is added
    expect(JSON.parse(await cli('--json', 'versions', 'show', 'mirror', '4'))).toMatchObject({ base: null, added: { 'rpm.package': 2 }, removed: {} });
  });
});
