/**
 * End-to-end: the `rpm` importer in a real host (embedded SQLite store, content-addressed storage)
 * syncing real yum repositories built by rpmbuild + createrepo_c, served over HTTP on 127.0.0.1,
 * and dnf installing from an exported version.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { isTributaryError, type SyncReport } from '@tributary/plugin-api';
import { buildRpmRepo, queryRpms } from './fixtures/rpm/build-rpm-repo.js';
import { nevraOfKey, RpmSyncHarness, type UnitSnapshot } from './fixtures/rpm/rpm-sync-harness.js';

const run = promisify(execFile);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let h: RpmSyncHarness;
beforeAll(async () => {
  h = await RpmSyncHarness.start();
});
afterAll(async () => {
  await h?.close();
});

describe('immediate sync of a repository with updateinfo', () => {
  let report: SyncReport;

  beforeAll(async () => {
    report = (await h.sync('el', h.urlOf(h.base.dir))).report;
  });

  test('the package units equal, package for package, what rpm -qp reports for the source RPMs', async () => {
    const packages = await h.units('el', 'rpm.package');
    const truth = await queryRpms(h.base.rpmFiles);
    expect(packages.map((p) => nevraOfKey(p.key)).sort()).toEqual(truth.map((t) => nevraOfKey({ ...t })).sort());
    for (const file of h.base.rpmFiles) {
      const bytes = await readFile(file);
      const unit = packages.find((p) => p.key['checksum'] === sha256(bytes));
      expect(unit?.key['checksumType']).toBe('sha256');
      expect(unit!.artifacts).toEqual([expect.objectContaining({ relativePath: path.relative(h.base.dir, file), sha256: sha256(bytes), stored: true })]);
    }
    const tools = packages.find((p) => p.key['name'] === 'tb-tools')!;
    // dependencies are kept whole: [name, flags, epoch, ver, rel, pre], trailing fields primary does not give left out
    expect(tools.metadata).toMatchObject({ license: 'Apache-2.0', sourcerpm: 'tb-tools-2.0-3.fc40.src.rpm', requires: expect.arrayContaining([['tb-hello', 'GE', '0', '1.1'], ['tb-greeting']]) });
    expect(report.added['rpm.package']).toBe(5);
  });

  test('advisories link to the package units of the same sync, and only to those', async () => {
    const packages = await h.units('el', 'rpm.package');
    const idOf = (name: string, version: string) => packages.find((p) => p.key['name'] === name && p.key['version'] === version)!.unitId;
    const advisories = await h.units('el', 'rpm.advisory');
    expect(advisories.map((a) => a.key['id'])).toEqual(['TBBA-2024:0002', 'TBSA-2024:0001']);
    const [bugfix, security] = advisories as [UnitSnapshot, UnitSnapshot];
    expect(security.metadata).toMatchObject({ type: 'security', severity: 'Important', issued: '2024-01-15 00:00:00', updated: '2024-01-16 08:30:00' });
    expect(security.metadata['packageUnitIds']).toEqual([idOf('tb-hello', '1.1'), idOf('tb-base', '1.0')]);
    expect((bugfix.metadata['packages'] as unknown[]).length).toBe(2);
    expect(bugfix.metadata['packageUnitIds']).toEqual([idOf('tb-tools', '2.0')]);
  });

  test('every repomd record and repomd.xml itself are metadata units', async () => {
    const metadata = await h.units('el', 'rpm.repo_metadata');
    expect(metadata.map((m) => m.key['dataType']).sort()).toEqual(['filelists', 'other', 'primary', 'repomd', 'updateinfo']);
    const repomdBytes = await readFile(path.join(h.base.dir, 'repodata', 'repomd.xml'));
    expect(metadata.find((m) => m.key['dataType'] === 'repomd')!.key).toEqual({ dataType: 'repomd', relativePath: 'repodata/repomd.xml', checksumType: 'sha256', checksum: sha256(repomdBytes) });
  });

  test('primary and updateinfo were downloaded once: parsed from the files the pipeline then stored', () => {
    for (const type of ['primary', 'updateinfo']) {
      expect(h.server.requests.filter((r) => r.path.startsWith('/base/repo/repodata/') && r.path.includes(type))).toHaveLength(1);
    }
  });

  test('dnf installs from the exported tree', async () => {
    const exported = path.join(h.work, 'export-el');
    const result = await h.host.exportRepository('el', exported);
    expect(result.conflicts).toBe(0);
    const installroot = path.join(h.work, 'installroot');
    await run('dnf', [
      '-y', '-q',
      `--installroot=${installroot}`,
      '--releasever=1',
      '--setopt=reposdir=/dev/null',
      `--setopt=cachedir=${path.join(h.work, 'dnf-cache')}`,
      `--repofrompath=tributary,file://${exported}`,
      '--repo=tributary',
      '--nogpgcheck',
      'install', 'tb-tools',
    ]);
    const { stdout } = await run('rpm', ['--root', installroot, '-qa', '--qf', '%{NAME}-%{VERSION}-%{RELEASE}\\n']);
    expect(stdout.trim().split('\n').sort()).toEqual(['tb-base-1.0-1', 'tb-hello-1.1-1', 'tb-tools-2.0-3.fc40']);
    expect(await readFile(path.join(installroot, 'usr/share/tb-hello/hello.txt'), 'utf8')).toBe('hello 1.1\n');
  });

  test('an unchanged repomd.xml finishes the next sync early; force compares everything and changes nothing', async () => {
    const before = await h.units('el');
    const again = await h.sync('el', h.urlOf(h.base.dir));
    expect(again.finishedEarly).toBe('repomd.xml unchanged');
    expect(again.newVersion).toBe(false);
    const forced = await h.sync('el', h.urlOf(h.base.dir), { force: true });
    expect(forced.finishedEarly).toBeUndefined();
    expect(forced.newVersion).toBe(false);
    expect(await h.units('el')).toEqual(before);
  });
});

describe('mirror and additive syncs after a package is removed upstream', () => {
  test('mirror removes the package and the stale metadata; additive keeps the package only', async () => {
    const removed = await buildRpmRepo(path.join(h.upstream, 'removed', 'repo'), { updateinfo: true, exclude: ['tb-extras-0.9-2.noarch.rpm'] });
    for (const mirror of [false, true]) {
      const repo = mirror ? 'mirrored' : 'additive';
      await h.sync(repo, h.urlOf(h.base.dir), { policy: 'on_demand' });
      const outcome = await h.sync(repo, h.urlOf(removed.dir), { policy: 'on_demand', mirror });
      const names = (await h.units(repo, 'rpm.package')).map((p) => p.key['name']);
      expect(names.includes('tb-extras')).toBe(!mirror);
      expect(outcome.report.removed['rpm.package'] ?? 0).toBe(mirror ? 1 : 0);
      const metadata = await h.units(repo, 'rpm.repo_metadata');
      expect(metadata).toHaveLength(5);
      const repomd = await readFile(path.join(removed.dir, 'repodata', 'repomd.xml'));
      expect(metadata.find((m) => m.key['dataType'] === 'repomd')!.key['checksum']).toBe(sha256(repomd));
    }
  });
});

describe('on_demand sync', () => {
  test('keeps packages as remote artifacts, stores metadata, and an export fetches the packages', async () => {
    const host = await h.freshHost('lazy');
    h.server.clearRequests();
    const outcome = await h.sync('lazy', h.urlOf(h.base.dir), { policy: 'on_demand' }, host);
    expect(outcome.report.added['rpm.package']).toBe(5);
    expect(h.server.requests.filter((r) => r.path.endsWith('.rpm'))).toEqual([]);
    const packages = await h.units('lazy', 'rpm.package', host);
    expect(packages.every((p) => p.artifacts[0]!.stored === false)).toBe(true);
    const metadata = await h.units('lazy', 'rpm.repo_metadata', host);
    expect(metadata.every((m) => m.artifacts[0]!.stored === true)).toBe(true);
    const result = await host.exportRepository('lazy', path.join(h.work, 'export-lazy'));
    expect(result.fetched).toBe(5);
    const bytes = await readFile(path.join(h.work, 'export-lazy', 'Packages/t/tb-tools-2.0-3.fc40.noarch.rpm'));
    expect(sha256(bytes)).toBe(packages.find((p) => p.key['name'] === 'tb-tools')!.key['checksum']);
  });
});

describe('formats seen in the wild', () => {
  test.each([
    ['xz', 'sha'],
    ['bz2', 'md5'],
    ['zstd', 'sha512'],
    ['none', 'sha256'],
  ] as const)('%s metadata with %s checksums', async (compression, checksum) => {
    const repo = await buildRpmRepo(path.join(h.upstream, `fmt-${compression}`, 'repo'), { compression, checksum, updateinfo: true });
    const outcome = await h.sync(`fmt-${compression}`, h.urlOf(repo.dir));
    expect(outcome.report.added).toMatchObject({ 'rpm.package': 5, 'rpm.advisory': 2, 'rpm.repo_metadata': 5 });
    const packages = await h.units(`fmt-${compression}`, 'rpm.package');
    expect(new Set(packages.map((p) => p.key['checksumType']))).toEqual(new Set([checksum === 'sha' ? 'sha1' : checksum]));
  });

  test('repomd.xml without open-size: the metadata is parsed on a thread of its own, to the same units', async () => {
    // a small repository's metadata is parsed on the sync's thread; one whose size is not declared on the parsing thread
    const repo = await buildRpmRepo(path.join(h.upstream, 'no-open-size', 'repo'), { updateinfo: true });
    const repomd = path.join(repo.dir, 'repodata', 'repomd.xml');
    await writeFile(repomd, (await readFile(repomd, 'utf8')).replace(/\s*<open-size>\d+<\/open-size>/g, ''));
    const outcome = await h.sync('no-open-size', h.urlOf(repo.dir));
    expect(outcome.report.added).toMatchObject({ 'rpm.package': 5, 'rpm.advisory': 2, 'rpm.repo_metadata': 5 });
    const packages = await h.units('no-open-size', 'rpm.package');
    const truth = await queryRpms(repo.rpmFiles);
    expect(packages.map((p) => nevraOfKey(p.key)).sort()).toEqual(truth.map((t) => nevraOfKey({ ...t })).sort());
    expect(packages.find((p) => p.key['name'] === 'tb-tools')!.metadata).toMatchObject({ sourcerpm: 'tb-tools-2.0-3.fc40.src.rpm', requires: expect.arrayContaining([['tb-greeting']]) });
    const advisories = await h.units('no-open-size', 'rpm.advisory');
    expect(advisories.map((a) => (a.metadata['packageUnitIds'] as unknown[]).length)).toEqual([1, 2]);
  });

  test('xml:base: packages are fetched from the base the metadata names', async () => {
    const repo = await buildRpmRepo(path.join(h.upstream, 'xmlbase', 'repo'), { baseurl: h.server.urlFor('xmlbase/mirror/') });
    await cp(path.join(repo.dir, 'Packages'), path.join(h.upstream, 'xmlbase', 'mirror', 'Packages'), { recursive: true });
    await rm(path.join(repo.dir, 'Packages'), { recursive: true });
    const host = await h.freshHost('xmlbase');
    h.server.clearRequests();
    const outcome = await h.sync('xmlbase', h.urlOf(repo.dir), {}, host);
    expect(outcome.report.added['rpm.package']).toBe(5);
    const rpmFetches = h.server.requests.filter((r) => r.path.endsWith('.rpm')).map((r) => r.path);
    expect(rpmFetches).toHaveLength(5);
    expect(rpmFetches.every((p) => p.startsWith('/xmlbase/mirror/Packages/'))).toBe(true);
    const tools = (await h.units('xmlbase', 'rpm.package', host)).find((p) => p.key['name'] === 'tb-tools')!;
    expect(tools.artifacts[0]!.relativePath).toBe('Packages/t/tb-tools-2.0-3.fc40.noarch.rpm');
  });

  test("hrefs with '../' are fetched from outside the base and stored under a safe path", async () => {
    const repo = await buildRpmRepo(path.join(h.upstream, 'parent', 'repo'), { layout: 'parent' });
    const host = await h.freshHost('parent');
    h.server.clearRequests();
    await h.sync('parent', h.urlOf(repo.dir), {}, host);
    expect(h.server.requests.filter((r) => r.path.endsWith('.rpm')).every((r) => r.path.startsWith('/parent/pool/Packages/'))).toBe(true);
    const paths = (await h.units('parent', 'rpm.package', host)).map((p) => p.artifacts[0]!.relativePath).sort();
    expect(paths).toContain('_parent/pool/Packages/t/tb-tools-2.0-3.fc40.noarch.rpm');
    expect(paths.every((p) => !p.split('/').includes('..'))).toBe(true);
  });

  test('record types the importer does not know are kept, and exported where repomd.xml says', async () => {
    const repo = await buildRpmRepo(path.join(h.upstream, 'extra', 'repo'), {
      extraMetadata: [{ type: 'tributary_notes', fileName: 'notes.txt', content: 'opaque to the importer\n' }],
    });
    await h.sync('extra', h.urlOf(repo.dir), { policy: 'on_demand' });
    const notes = (await h.units('extra', 'rpm.repo_metadata')).find((m) => m.key['dataType'] === 'tributary_notes')!;
    expect(notes.artifacts[0]!.stored).toBe(true);
    const exported = path.join(h.work, 'export-extra');
    await h.host.exportRepository('extra', exported);
    const href = notes.metadata['href'] as string;
    expect(await readFile(path.join(repo.dir, href))).toEqual(await readFile(path.join(exported, href)));
    expect(await readFile(path.join(exported, 'repodata', 'repomd.xml'), 'utf8')).toBe(await readFile(path.join(repo.dir, 'repodata', 'repomd.xml'), 'utf8'));
  });

  test('a NEVRA listed twice becomes one unit, the first entry, and the log says so', async () => {
    const repo = await buildRpmRepo(path.join(h.upstream, 'dup', 'repo'), { duplicate: 'tb-base-1.0-1.noarch.rpm' });
    const host = await h.freshHost('dup');
    const outcome = await h.sync('dup', h.urlOf(repo.dir), { policy: 'on_demand' }, host);
    const bases = (await h.units('dup', 'rpm.package', host)).filter((p) => p.key['name'] === 'tb-base');
    expect(bases).toHaveLength(1);
    expect(bases[0]!.artifacts[0]!.relativePath).toBe('Packages/dup/tb-base-1.0-1.noarch.rpm');
    expect(outcome.report.log.join('\n')).toMatch(/first entry of each NEVRA is kept and these are dropped: tb-base-0:1\.0-1\.noarch/);
  });
});

describe('config', () => {
  test('skipTypes leaves record types out: neither kept nor parsed', async () => {
    const outcome = await h.sync('skipping', h.urlOf(h.base.dir), { policy: 'on_demand', config: { skipTypes: ['filelists', 'other', 'updateinfo'] } });
    expect(outcome.report.added['rpm.advisory'] ?? 0).toBe(0);
    expect((await h.units('skipping', 'rpm.repo_metadata')).map((m) => m.key['dataType']).sort()).toEqual(['primary', 'repomd']);
  });

  test('primary cannot be skipped, and unknown options are refused before any request', async () => {
    for (const config of [{ skipTypes: ['primary'] }, { maxMetadataBytes: 'a lot' }, { colour: 'blue' }]) {
      h.server.clearRequests();
      const error = await h.sync('misconfigured', h.urlOf(h.base.dir), { config }).catch((e: unknown) => e);
      expect(isTributaryError(error, 'TRIBUTARY_ERR_CONFIG_INVALID')).toBe(true);
      expect(h.server.requests).toEqual([]);
    }
  });
});
