/**
 * End-to-end: `tributary sync --on-error skip[:LIMIT]` (issue 22, item 6) through the CLI, in
 * process, against real repositories served over HTTP on 127.0.0.1 by the conformance kit's
 * fixture server: a yum repository built by rpmbuild + createrepo_c with corrupted packages, and
 * PULP_MANIFEST file repositories with corrupted, missing and wrong-sized files.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startFixtureServer, type FixtureServer } from '@tributary/conformance';
import type { SkippedUnit, SyncReport } from '@tributary/plugin-api';
import { buildRpmRepo, type BuiltRpmRepo } from './fixtures/rpm/build-rpm-repo.js';
import { runCli } from '@tributary/core';
import { runCliIn } from './cli-process';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The same bytes with one flipped in the middle: same size, another digest. */
function corrupted(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  copy[copy.length >> 1] ^= 0xff;
  return copy;
}

interface HistoryRecord {
  status: string;
  resultVersion: number;
  report: SyncReport | null;
  error: { code: string; message: string; details: Record<string, unknown> } | null;
}

interface UnitLine {
  type: string;
  key: Record<string, string | number>;
  metadata: Record<string, unknown>;
  artifacts: { relativePath: string; sha256: string | null; stored: boolean }[];
}

let work: string;
let server: FixtureServer;
let upstream: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'tributary-skip-e2e-'));
  upstream = path.join(work, 'upstream');
  await mkdir(upstream);
  server = await startFixtureServer({ root: upstream });
});
afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});
afterEach(() => server?.clearFaults());

/** A CLI home of its own per test: units are shared by all repositories of a catalog. */
async function cliHome(name: string) {
  const home = path.join(work, `home-${name}`);
  const cli = (...argv: string[]) => runCliIn(home, argv);
  return {
    cli,
    async history(repo: string): Promise<HistoryRecord[]> {
      const run = await cli('--json', 'history', repo);
      expect(run.code).toBe(0);
      return run.stdout.trim().split('\n').map((line) => JSON.parse(line) as HistoryRecord);
    },
    async units(repo: string, ...flags: string[]): Promise<UnitLine[]> {
      const run = await cli('--json', 'units', repo, ...flags);
      expect(run.code).toBe(0);
      return run.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as UnitLine);
    },
  };
}

describe('rpm: a repository serving three corrupted packages (wrong bytes, same size)', () => {
  let repo: BuiltRpmRepo;
  let url: string;
  /** Served path of each package file, by file name. */
  const served = new Map<string, string>();
  // tb-base and tb-hello 1.1 are named by the security advisory, whose links await their futures
  const BAD = ['tb-base-1.0-1.noarch.rpm', 'tb-hello-1.1-1.noarch.rpm', 'tb-extras-0.9-2.noarch.rpm'];

  beforeAll(async () => {
    repo = await buildRpmRepo(path.join(upstream, 'el', 'repo'), { updateinfo: true });
    for (const file of repo.rpmFiles) served.set(path.basename(file), path.relative(upstream, file).split(path.sep).join('/'));
    // credentials in the feed url must not reach the report
    url = server.urlFor('el/repo/').replace('http://', 'http://mirror:s3cret-word@');
  });

  async function corrupt(names: readonly string[]): Promise<void> {
    for (const name of names) server.fault(served.get(name)!, { body: corrupted(await readFile(path.join(repo.dir, served.get(name)!.replace(/^el\/repo\//, '')))) });
  }

  test('--on-error skip:5: the sync succeeds without the three, lists them (stdout and history --json), and stores the rest; the next sync fetches them', async () => {
    expect(repo.rpms).toHaveLength(5);
    const { cli, history, units } = await cliHome('rpm-skip');
    await corrupt(BAD);
    const run = await cli('sync', 'el', '--create', '--importer', 'rpm', '--url', url, '--on-error', 'skip:5');
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^synced 'el' \(immediate\) to version 1: added /);
    expect(lines[1]).toBe('left out 3 units whose files failed (up to 5 may be):');
    expect(lines.slice(2).map((line) => /^ {2}rpm\.package Packages\/t\/(\S+): TRIBUTARY_ERR_DIGEST_MISMATCH: /.exec(line)?.[1]).sort()).toEqual([...BAD].sort());
    expect(run.stdout).not.toContain('s3cret');

    const [record] = await history('el');
    expect(record!.status).toBe('succeeded');
    const skipped = record!.report!.skipped!;
    expect({ count: skipped.count, limit: skipped.limit }).toEqual({ count: 3, limit: 5 });
    expect(skipped.units.map((u: SkippedUnit) => `${u.key['name']}-${u.key['version']}`).sort()).toEqual(['tb-base-1.0', 'tb-extras-0.9', 'tb-hello-1.1']);
    for (const unit of skipped.units) {
      expect(unit).toEqual({
        typeId: 'rpm.package',
        key: expect.objectContaining({ arch: 'noarch', checksumType: 'sha256' }),
        relativePath: expect.stringMatching(/^Packages\/t\/tb-.*\.rpm$/),
        url: server.urlFor(`el/repo/${unit.relativePath}`),
        code: 'TRIBUTARY_ERR_DIGEST_MISMATCH',
        message: expect.stringContaining('sha256 mismatch'),
      });
    }
    expect(JSON.stringify(record)).not.toContain('s3cret');
    expect((await cli('history', 'el')).stdout).toContain('3 units left out (files failed)');

    // the other two packages are stored, the three are not in the version; the advisory links only what was saved
    const packages = await units('el', '--type', 'rpm.package');
    expect(packages.map((p) => `${p.key['name']}-${p.key['version']}`).sort()).toEqual(['tb-hello-1.0', 'tb-tools-2.0']);
    for (const p of packages) expect(p.artifacts.every((a) => a.stored)).toBe(true);
    const security = (await units('el', '--type', 'rpm.advisory')).find((a) => a.key['id'] === 'TBSA-2024:0001')!;
    expect(security.metadata['packageUnitIds']).toEqual([]);

    // upstream mended: an unchanged index does not end the next sync early, which adds the three
    server.clearFaults();
    const again = await cli('--json', 'sync', 'el', '--on-error', 'skip:5');
    expect(again.code).toBe(0);
    const outcome = JSON.parse(again.stdout) as { version: number; report: SyncReport };
    expect(outcome.version).toBe(2);
    expect(outcome.report.finishedEarly).toBeUndefined();
    expect(outcome.report.skipped).toBeUndefined();
    expect(outcome.report.added['rpm.package']).toBe(3);
    expect((await units('el', '--type', 'rpm.package')).map((p) => p.key['name']).sort()).toEqual(['tb-base', 'tb-extras', 'tb-hello', 'tb-hello', 'tb-tools']);
  });

  test('more corrupted packages than the limit (skip:2) fail the sync; the previous version stays as it was', async () => {
    const { cli, history, units } = await cliHome('rpm-limit');
    // version 1: every package, its bytes left upstream
    expect((await cli('sync', 'el', '--create', '--importer', 'rpm', '--url', url, '--policy', 'on_demand')).code).toBe(0);
    const before = await units('el');
    await corrupt(BAD);
    const run = await cli('--json', 'sync', 'el', '--policy', 'immediate', '--on-error', 'skip:2');
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stderr.trim()) as { error: { code: string; message: string; details: Record<string, unknown> } };
    expect(error.code).toBe('TRIBUTARY_ERR_SYNC_FAILED');
    expect(error.details['causeCode']).toBe('TRIBUTARY_ERR_DIGEST_MISMATCH');
    expect(error.message).toContain("3 units' files failed, more than the 2 the sync may skip");

    expect(JSON.parse((await cli('--json', 'repo', 'show', 'el')).stdout).latestVersion).toBe(1);
    expect(await units('el')).toEqual(before);
    const [failed] = await history('el');
    expect(failed!.status).toBe('failed');
    expect(failed!.resultVersion).toBe(1);
    // what it had skipped before giving up is in the failed sync's report
    expect(failed!.report!.skipped!.count).toBe(2);
  });
});

describe('file: corrupted, missing and wrong-sized files', () => {
  /** Ten files f0…f9 under `name/`, with a PULP_MANIFEST listing them. */
  function fileRepo(name: string): { manifestUrl: string; bodies: Map<string, Buffer> } {
    const bodies = new Map<string, Buffer>();
    const lines: string[] = [];
    for (let i = 0; i < 10; i++) {
      const body = Buffer.from(`file ${i} of ${name}\n`.repeat(50 + i));
      bodies.set(`f${i}.txt`, body);
      lines.push(`f${i}.txt,${sha256(body)},${body.length}`);
      server.setFile(`${name}/f${i}.txt`, body);
    }
    server.setFile(`${name}/PULP_MANIFEST`, `${lines.join('\n')}\n`);
    return { manifestUrl: server.urlFor(`${name}/PULP_MANIFEST`), bodies };
  }

  test('six corrupted with --on-error skip:5 fail the sync and leave the previous version intact; skip:6 succeeds without them', async () => {
    const { cli, history, units } = await cliHome('file-limit');
    const { manifestUrl, bodies } = fileRepo('six');
    expect((await cli('sync', 'files', '--create', '--importer', 'file', '--url', manifestUrl, '--policy', 'on_demand')).code).toBe(0);
    const before = await units('files');
    expect(before).toHaveLength(10);
    for (let i = 0; i < 6; i++) server.fault(`six/f${i}.txt`, { body: corrupted(bodies.get(`f${i}.txt`)!) });

    const failed = await cli('sync', 'files', '--policy', 'immediate', '--on-error', 'skip:5');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("6 units' files failed, more than the 5 the sync may skip");
    expect(await units('files')).toEqual(before);
    expect((await history('files'))[0]!.status).toBe('failed');

    const run = await cli('--json', 'sync', 'files', '--policy', 'immediate', '--on-error', 'skip:6');
    expect(run.code).toBe(0);
    const { report } = JSON.parse(run.stdout) as { report: SyncReport };
    expect(report.skipped!.units.map((u) => u.relativePath).sort()).toEqual(['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'f4.txt', 'f5.txt']);
    // an additive sync keeps the six as they were: listed, bytes not stored
    const after = await units('files');
    expect(after.map((u) => [u.key['relativePath'], u.artifacts[0]!.stored])).toEqual(
      Array.from({ length: 10 }, (_, i) => [`f${i}.txt`, i >= 6]),
    );
  });

  test('a missing file (404) and a wrong-sized one are skipped with their codes; --mirror removes the ones the previous version held', async () => {
    const { cli, history, units } = await cliHome('file-404');
    const { manifestUrl, bodies } = fileRepo('gaps');
    expect((await cli('sync', 'files', '--create', '--importer', 'file', '--url', manifestUrl, '--policy', 'on_demand')).code).toBe(0);
    server.fault('gaps/f3.txt', { status: 404 });
    server.fault('gaps/f7.txt', { body: Buffer.concat([bodies.get('f7.txt')!, Buffer.from('trailing bytes\n')]) });

    const run = await cli('sync', 'files', '--policy', 'immediate', '--mirror', '--on-error', 'skip');
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain('left out 2 units whose files failed (up to 100 may be):');
    const [record] = await history('files');
    const skipped = record!.report!.skipped!;
    expect(skipped.units.map((u) => [u.relativePath, u.code])).toEqual(
      expect.arrayContaining([
        ['f3.txt', 'TRIBUTARY_ERR_HTTP_STATUS'],
        ['f7.txt', 'TRIBUTARY_ERR_SIZE_MISMATCH'],
      ]),
    );
    expect(skipped.units).toHaveLength(2);
    expect(skipped.units.find((u) => u.relativePath === 'f3.txt')!.message).toContain('404');
    expect(record!.report!.removed).toEqual({ file: 2 });
    expect((await units('files')).map((u) => u.key['relativePath'])).toEqual(['f0.txt', 'f1.txt', 'f2.txt', 'f4.txt', 'f5.txt', 'f6.txt', 'f8.txt', 'f9.txt']);
  });

  test("the progress lines count the units left out as the host's events tell them", async () => {
    const { manifestUrl } = fileRepo('slow');
    server.fault('slow/f0.txt', { status: 404 });
    // held until the progress has shown the skip (clearFaults lets it go)
    server.fault('slow/f9.txt', { delayMs: 600_000 });
    let stderr = '';
    let stdout = '';
    const running = runCli(['--home', path.join(work, 'home-progress'), '--json', 'sync', 'files', '--create', '--importer', 'file', '--url', manifestUrl, '--on-error', 'skip'], {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env: { TRIBUTARY_PROGRESS_SECONDS: '0.05' },
      cwd: work,
    });
    while (!stderr.includes('"skipped":1')) await new Promise((resolve) => setTimeout(resolve, 20));
    server.clearFaults();
    expect(await running).toBe(0);
    const progress = stderr.trim().split('\n').map((line) => JSON.parse(line) as { progress: { repository: string; skipped?: number } });
    expect(progress.find((p) => p.progress.skipped === 1)!.progress.repository).toBe('files');
    expect((JSON.parse(stdout) as { report: SyncReport }).report.skipped!.count).toBe(1);
  });

  test('without --on-error the first bad file fails the sync, as before; a bad --on-error is a usage error', async () => {
    const { cli } = await cliHome('file-default');
    const { manifestUrl } = fileRepo('strict');
    server.fault('strict/f4.txt', { status: 404 });
    const run = await cli('sync', 'files', '--create', '--importer', 'file', '--url', manifestUrl);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('TRIBUTARY_ERR_HTTP_STATUS');
    for (const bad of ['skip:', 'skip:-1', 'keep', 'skip:1.5']) {
      const usage = await cli('sync', 'files', '--create', '--importer', 'file', '--url', manifestUrl, '--on-error', bad);
      expect({ bad, code: usage.code }).toEqual({ bad, code: 2 });
      expect(usage.stderr).toContain('--on-error must be fail, skip or skip:LIMIT');
    }
    const help = (await cli('sync', '--help')).stdout.replace(/\s+/g, ' ');
    expect(help).toContain('--on-error fail|skip[:LIMIT] when a file of a unit cannot be fetched');
    expect(help).toContain('(default: fail)');
  });
});
