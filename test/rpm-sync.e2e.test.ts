/**
 * End-to-end: the `rpm` importer in a real host (embedded SQLite store, content-addressed storage)
 * syncing real yum repositories built by rpmbuild + createrepo_c, served over HTTP on 127.0.0.1;
 * exports installed from by dnf; bad upstream metadata leaving the previous version untouched.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { createHost, type Host } from '@tributary/core';
import { startFixtureServer, type FixtureServer } from '@tributary/conformance';
import { rootTributaryError, type SyncReport } from '@tributary/plugin-api';
import { rpmImporter } from '@tributary/importer-rpm-example';
import { buildRpmRepo, queryRpms, removeMetadata, replaceMetadata, type BuiltRpmRepo } from './fixtures/rpm/build-rpm-repo.js';

const run = promisify(execFile);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let work: string;
let upstream: string;
let server: FixtureServer;
let host: Host;
let base: BuiltRpmRepo;
const hosts: Host[] = [];

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'tributary-rpm-e2e-'));
  upstream = path.join(work, 'upstream');
  base = await buildRpmRepo(path.join(upstream, 'base', 'repo'), { updateinfo: true });
  server = await startFixtureServer({ root: upstream });
  host = await createHost({ storageRoot: path.join(work, 'host'), plugins: [rpmImporter] });
});
afterAll(async () => {
  for (const h of hosts) await h.close();
  await host?.close();
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

const urlOf = (dir: string) => server.urlFor(`${path.relative(upstream, dir)}/`);

interface UnitSnapshot {
  typeId: string;
  key: Record<string, unknown>;
  metadata: Record<string, unknown>;
  unitId: string;
  artifacts: unknown;
}

/** A host of its own: units are shared by all repositories of a host, so layout tests need a fresh one. */
async function freshHost(name: string): Promise<Host> {
  const h = await createHost({ storageRoot: path.join(work, `host-${name}`), plugins: [rpmImporter] });
  hosts.push(h);
  return h;
}

async function units(repo: string, typeId?: string, h: Host = host): Promise<UnitSnapshot[]> {
  const out: UnitSnapshot[] = [];
  for await (const u of h.units(repo, typeId ? { typeId } : {})) out.push({ typeId: u.typeId, key: { ...u.key }, metadata: { ...u.metadata }, unitId: u.unitId, artifacts: u.artifacts });
  return out.sort((a, b) => (a.typeId + JSON.stringify(a.key)).localeCompare(b.typeId + JSON.stringify(b.key)));
}

async function sync(repo: string, url: string, options: { policy?: 'immediate' | 'on_demand'; mirror?: boolean; force?: boolean } = {}, h: Host = host) {
  if (!(await h.listRepositories()).some((r) => r.name === repo)) await h.createRepository({ name: repo });
  return h.sync(repo, { importer: 'rpm', url, ...options });
}

const nevra = (k: Record<string, unknown>) => `${k['name']}-${k['epoch']}:${k['version']}-${k['release']}.${k['arch']}`;

describe('immediate sync of a repository with updateinfo', () => {
  let report: SyncReport;

  beforeAll(async () => {
    report = (await sync('el', urlOf(base.dir))).report;
  });

  test('the package units equal, package for package, what rpm -qp reports for the source RPMs', async () => {
    const packages = await units('el', 'rpm.package');
    const truth = await queryRpms(base.rpmFiles);
    expect(packages.map((p) => nevra(p.key)).sort()).toEqual(truth.map((t) => nevra(t as unknown as Record<string, unknown>)).sort());
    for (const file of base.rpmFiles) {
      const bytes = await readFile(file);
      const unit = packages.find((p) => p.key['checksum'] === sha256(bytes));
      expect(unit).toBeDefined();
      expect(unit!.key['checksumType']).toBe('sha256');
      expect(unit!.artifacts).toEqual([expect.objectContaining({ relativePath: path.relative(base.dir, file), sha256: sha256(bytes), stored: true })]);
    }
    const tools = packages.find((p) => p.key['name'] === 'tb-tools')!;
    expect(tools.metadata).toMatchObject({ license: 'Apache-2.0', sourcerpm: 'tb-tools-2.0-3.fc40.src.rpm', requires: expect.arrayContaining(['tb-hello', 'tb-greeting']) });
    expect(report.added['rpm.package']).toBe(5);
  });

  test('advisories link to the package units of the same sync, and only to those', async () => {
    const packages = await units('el', 'rpm.package');
    const idOf = (name: string, version: string) => packages.find((p) => p.key['name'] === name && p.key['version'] === version)!.unitId;
    const advisories = await units('el', 'rpm.advisory');
    expect(advisories.map((a) => a.key['id'])).toEqual(['TBBA-2024:0002', 'TBSA-2024:0001']);
    const [bugfix, security] = advisories as [UnitSnapshot, UnitSnapshot];
    expect(security.metadata).toMatchObject({ type: 'security', severity: 'Important', issued: '2024-01-15 00:00:00', updated: '2024-01-16 08:30:00' });
    expect(security.metadata['packageUnitIds']).toEqual([idOf('tb-hello', '1.1'), idOf('tb-base', '1.0')]);
    expect((bugfix.metadata['packages'] as unknown[]).length).toBe(2);
    expect(bugfix.metadata['packageUnitIds']).toEqual([idOf('tb-tools', '2.0')]);
  });

  test('every repomd record and repomd.xml itself are metadata units', async () => {
    const metadata = await units('el', 'rpm.repo_metadata');
    expect(metadata.map((m) => m.key['dataType']).sort()).toEqual(['filelists', 'other', 'primary', 'repomd', 'updateinfo']);
    const repomdBytes = await readFile(path.join(base.dir, 'repodata', 'repomd.xml'));
    expect(metadata.find((m) => m.key['dataType'] === 'repomd')!.key).toEqual({ dataType: 'repomd', relativePath: 'repodata/repomd.xml', checksumType: 'sha256', checksum: sha256(repomdBytes) });
  });

  test('primary was downloaded once: parsed from the file the pipeline then stored', () => {
    const primaryHref = `/base/repo/${path.posix.join('repodata', '')}`;
    const fetches = server.requests.filter((r) => r.path.startsWith(primaryHref) && r.path.includes('primary'));
    expect(fetches).toHaveLength(1);
  });

  test('dnf installs from the exported tree', async () => {
    const exported = path.join(work, 'export-el');
    const result = await host.exportRepository('el', exported);
    expect(result.conflicts).toBe(0);
    const installroot = path.join(work, 'installroot');
    await run('dnf', [
      '-y', '-q',
      `--installroot=${installroot}`,
      '--releasever=1',
      '--setopt=reposdir=/dev/null',
      `--setopt=cachedir=${path.join(work, 'dnf-cache')}`,
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
    const before = await units('el');
    const again = await sync('el', urlOf(base.dir));
    expect(again.finishedEarly).toBe('repomd.xml unchanged');
    expect(again.newVersion).toBe(false);
    const forced = await sync('el', urlOf(base.dir), { force: true });
    expect(forced.finishedEarly).toBeUndefined();
    expect(forced.newVersion).toBe(false);
    expect(await units('el')).toEqual(before);
  });
});

describe('mirror and additive syncs after a package is removed upstream', () => {
  test('mirror removes the package and the stale metadata; additive keeps the package only', async () => {
    const removed = await buildRpmRepo(path.join(upstream, 'removed', 'repo'), { updateinfo: true, exclude: ['tb-extras-0.9-2.noarch.rpm'] });
    for (const mirror of [false, true]) {
      const repo = mirror ? 'mirrored' : 'additive';
      await sync(repo, urlOf(base.dir), { policy: 'on_demand' });
      const outcome = await sync(repo, urlOf(removed.dir), { policy: 'on_demand', mirror });
      const names = (await units(repo, 'rpm.package')).map((p) => p.key['name']);
      expect(names.includes('tb-extras')).toBe(!mirror);
      expect(outcome.report.removed['rpm.package'] ?? 0).toBe(mirror ? 1 : 0);
      const metadata = await units(repo, 'rpm.repo_metadata');
      expect(metadata).toHaveLength(5);
      const repomd = await readFile(path.join(removed.dir, 'repodata', 'repomd.xml'));
      expect(metadata.find((m) => m.key['dataType'] === 'repomd')!.key['checksum']).toBe(sha256(repomd));
    }
  });
});

describe('on_demand sync', () => {
  test('keeps packages as remote artifacts, stores metadata, and an export fetches the packages', async () => {
    const h = await freshHost('lazy');
    server.clearRequests();
    const outcome = await sync('lazy', urlOf(base.dir), { policy: 'on_demand' }, h);
    expect(outcome.report.added['rpm.package']).toBe(5);
    expect(server.requests.filter((r) => r.path.endsWith('.rpm'))).toEqual([]);
    const packages = await units('lazy', 'rpm.package', h);
    expect(packages.every((p) => (p.artifacts as Array<{ stored: boolean }>)[0]!.stored === false)).toBe(true);
    const metadata = await units('lazy', 'rpm.repo_metadata', h);
    expect(metadata.every((m) => (m.artifacts as Array<{ stored: boolean }>)[0]!.stored === true)).toBe(true);
    const exported = path.join(work, 'export-lazy');
    const result = await h.exportRepository('lazy', exported);
    expect(result.fetched).toBe(5);
    const bytes = await readFile(path.join(exported, 'Packages/t/tb-tools-2.0-3.fc40.noarch.rpm'));
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
    const repo = await buildRpmRepo(path.join(upstream, `fmt-${compression}`, 'repo'), { compression, checksum, updateinfo: true });
    const outcome = await sync(`fmt-${compression}`, urlOf(repo.dir));
    expect(outcome.report.added).toMatchObject({ 'rpm.package': 5, 'rpm.advisory': 2, 'rpm.repo_metadata': 5 });
    const packages = await units(`fmt-${compression}`, 'rpm.package');
    expect(new Set(packages.map((p) => p.key['checksumType']))).toEqual(new Set([checksum === 'sha' ? 'sha1' : checksum]));
  });

  test('xml:base: packages are fetched from the base the metadata names', async () => {
    const mirrorDir = path.join(upstream, 'xmlbase', 'mirror');
    const repo = await buildRpmRepo(path.join(upstream, 'xmlbase', 'repo'), { baseurl: server.urlFor('xmlbase/mirror/') });
    await cp(path.join(repo.dir, 'Packages'), path.join(mirrorDir, 'Packages'), { recursive: true });
    await rm(path.join(repo.dir, 'Packages'), { recursive: true });
    const h = await freshHost('xmlbase');
    server.clearRequests();
    const outcome = await sync('xmlbase', urlOf(repo.dir), {}, h);
    expect(outcome.report.added['rpm.package']).toBe(5);
    const rpmFetches = server.requests.filter((r) => r.path.endsWith('.rpm')).map((r) => r.path);
    expect(rpmFetches).toHaveLength(5);
    expect(rpmFetches.every((p) => p.startsWith('/xmlbase/mirror/Packages/'))).toBe(true);
    const tools = (await units('xmlbase', 'rpm.package', h)).find((p) => p.key['name'] === 'tb-tools')!;
    expect((tools.artifacts as Array<{ relativePath: string }>)[0]!.relativePath).toBe('Packages/t/tb-tools-2.0-3.fc40.noarch.rpm');
  });

  test("hrefs with '../' are fetched from outside the base and stored under a safe path", async () => {
    const repo = await buildRpmRepo(path.join(upstream, 'parent', 'repo'), { layout: 'parent' });
    const h = await freshHost('parent');
    server.clearRequests();
    await sync('parent', urlOf(repo.dir), {}, h);
    expect(server.requests.filter((r) => r.path.endsWith('.rpm')).every((r) => r.path.startsWith('/parent/pool/Packages/'))).toBe(true);
    const paths = (await units('parent', 'rpm.package', h)).map((p) => (p.artifacts as Array<{ relativePath: string }>)[0]!.relativePath).sort();
    expect(paths).toContain('_parent/pool/Packages/t/tb-tools-2.0-3.fc40.noarch.rpm');
    expect(paths.every((p) => !p.split('/').includes('..'))).toBe(true);
  });

  test('a NEVRA listed twice becomes one unit, the first entry, and the log says so', async () => {
    const repo = await buildRpmRepo(path.join(upstream, 'dup', 'repo'), { duplicate: 'tb-base-1.0-1.noarch.rpm' });
    const h = await freshHost('dup');
    const outcome = await sync('dup', urlOf(repo.dir), { policy: 'on_demand' }, h);
    const bases = (await units('dup', 'rpm.package', h)).filter((p) => p.key['name'] === 'tb-base');
    expect(bases).toHaveLength(1);
    expect((bases[0]!.artifacts as Array<{ relativePath: string }>)[0]!.relativePath).toBe('Packages/dup/tb-base-1.0-1.noarch.rpm');
    expect(outcome.report.log.join('\n')).toMatch(/tb-base-0:1\.0-1\.noarch .*dropped|dropped.*tb-base-0:1\.0-1\.noarch/s);
  });
});

describe('bad upstream metadata leaves the previous version untouched', () => {
  const badDir = () => path.join(upstream, 'bad', 'repo');
  let guarded: Host;
  let before: UnitSnapshot[];
  let version: number;

  beforeAll(async () => {
    // on_demand first, so the immediate syncs below really download (and verify) the packages
    guarded = await freshHost('guarded');
    await cp(base.dir, badDir(), { recursive: true });
    version = (await sync('guarded', urlOf(badDir()), { policy: 'on_demand' }, guarded)).version;
    before = await units('guarded', undefined, guarded);
  });

  async function expectRefused(causeCode: string, mutate: (dir: string) => Promise<void>) {
    await rm(badDir(), { recursive: true, force: true });
    await cp(base.dir, badDir(), { recursive: true });
    await mutate(badDir());
    const error = await sync('guarded', urlOf(badDir()), { policy: 'immediate' }, guarded).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(rootTributaryError(error)?.code).toBe(causeCode);
    expect((await guarded.getRepository('guarded')).latestVersion).toBe(version);
    // Files the failed sync did download stay in content-addressed storage (a verified cache), so
    // `stored` may turn true; everything a version says (units, keys, metadata, paths) is unchanged.
    expect(withoutStored(await units('guarded', undefined, guarded))).toEqual(withoutStored(before));
  }

  const withoutStored = (snapshot: UnitSnapshot[]) =>
    snapshot.map((u) => ({ ...u, artifacts: (u.artifacts as Array<Record<string, unknown>>).map(({ stored: _stored, ...rest }) => rest) }));

  const gz = (xml: string) => gzipSync(Buffer.from(xml));

  test('missing primary', () => expectRefused('TRIBUTARY_ERR_METADATA_MISSING', (dir) => removeMetadata(dir, 'primary')));

  test('a metadata checksum mismatch', () =>
    expectRefused('TRIBUTARY_ERR_DIGEST_MISMATCH', async (dir) => {
      const repomd = await readFile(path.join(dir, 'repodata', 'repomd.xml'), 'utf8');
      const href = /<location href="([^"]+primary[^"]+)"/.exec(repomd)![1]!;
      const bytes = await readFile(path.join(dir, href));
      bytes[bytes.length - 5] ^= 0xff;
      await writeFile(path.join(dir, href), bytes);
    }));

  test('an unknown compression', () =>
    expectRefused('TRIBUTARY_ERR_COMPRESSION_UNSUPPORTED', (dir) => replaceMetadata(dir, 'primary', { bytes: Buffer.concat([Buffer.from('\0ZCK1'), Buffer.alloc(100)]), fileName: 'x-primary.xml.zck' })));

  test('malformed XML', () =>
    expectRefused('TRIBUTARY_ERR_XML_INVALID', (dir) => replaceMetadata(dir, 'primary', { bytes: gz('<metadata><package><name>x</nam></package></metadata>'), fileName: 'm-primary.xml.gz' })));

  test('truncated XML', () =>
    expectRefused('TRIBUTARY_ERR_XML_INVALID', (dir) => replaceMetadata(dir, 'primary', { bytes: gz('<metadata packages="1"><package type="rpm"><name>tb-base</name><arch>noar'), fileName: 't-primary.xml.gz' })));

  test('an external entity', () =>
    expectRefused('TRIBUTARY_ERR_XML_ENTITY', (dir) =>
      replaceMetadata(dir, 'primary', { bytes: gz('<!DOCTYPE metadata [<!ENTITY x SYSTEM "file:///etc/passwd">]><metadata>&x;</metadata>'), fileName: 'e-primary.xml.gz' }),
    ));

  test('billion laughs in updateinfo', () =>
    expectRefused('TRIBUTARY_ERR_XML_ENTITY', (dir) => {
      const entities = Array.from({ length: 9 }, (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`).join('');
      return replaceMetadata(dir, 'updateinfo', { bytes: gz(`<!DOCTYPE updates [<!ENTITY l0 "lol">${entities}]><updates>&l9;</updates>`), fileName: 'b-updateinfo.xml.gz' });
    }));

  test('a decompression bomb', () =>
    expectRefused('TRIBUTARY_ERR_DECOMPRESSION_LIMIT', (dir) =>
      replaceMetadata(dir, 'primary', { bytes: gzipSync(Buffer.alloc(32 * 1024 * 1024, 0x20), { level: 1 }), fileName: 'bomb-primary.xml.gz', openSize: 2048 }),
    ));

  test('a package whose downloaded checksum differs from primary', async () => {
    const real = await readFile(path.join(base.dir, 'Packages/t/tb-tools-2.0-3.fc40.noarch.rpm'));
    const tampered = Buffer.from(real);
    tampered[tampered.length - 100] ^= 0xff;
    server.fault('bad/repo/Packages/t/tb-tools-2.0-3.fc40.noarch.rpm', { body: tampered });
    try {
      await expectRefused('TRIBUTARY_ERR_DIGEST_MISMATCH', async () => undefined);
    } finally {
      server.clearFaults();
    }
  });
});
