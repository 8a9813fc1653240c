/**
 * End-to-end: the rpm importer's sync filters (includeNames, excludeNames, arches,
 * retainPackageVersions) in a real host, on a real repository built by rpmbuild + createrepo_c
 * (three versions of `hello` on two arches, a debuginfo package, a noarch one, a source package,
 * and updateinfo), served over HTTP from 127.0.0.1.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Host } from '@tributary/core';
import { isTributaryError, rootTributaryError } from '@tributary/plugin-api';
import { archPackageText, buildFilterRepo, FILTER_PACKAGES, type BuiltArchRpm } from './fixtures/rpm/build-filter-repo.js';
import { RpmSyncHarness, type SyncSettings, type UnitSnapshot } from './fixtures/rpm/rpm-sync-harness.js';

/** FILTER-1 names packages every filter treats differently; FILTER-2 only a debuginfo package. */
const UPDATEINFO = `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="security@tributary.invalid" status="final" type="security" version="1">
    <id>FILTER-1</id>
    <title>hello update</title>
    <issued date="2024-03-01"/>
    <references/>
    <pkglist>
      <collection short="hello">
        <package name="hello" version="1.0" release="1" epoch="1" arch="x86_64"><filename>hello-1.0-1.x86_64.rpm</filename></package>
        <package name="hello" version="2.0" release="1" epoch="0" arch="x86_64"><filename>hello-2.0-1.x86_64.rpm</filename></package>
        <package name="hello" version="2.0" release="1" epoch="0" arch="i686"><filename>hello-2.0-1.i686.rpm</filename></package>
        <package name="hello-debuginfo" version="2.0" release="1" epoch="0" arch="x86_64"><filename>hello-debuginfo-2.0-1.x86_64.rpm</filename></package>
        <package name="hello-ghost" version="9.9" release="1" epoch="0" arch="x86_64"><filename>hello-ghost-9.9-1.x86_64.rpm</filename></package>
      </collection>
    </pkglist>
  </update>
  <update from="security@tributary.invalid" status="final" type="bugfix" version="1">
    <id>FILTER-2</id>
    <title>hello-debuginfo update</title>
    <issued date="2024-03-02"/>
    <references/>
    <pkglist>
      <collection short="hello">
        <package name="hello-debuginfo" version="2.0" release="1" epoch="0" arch="x86_64"><filename>hello-debuginfo-2.0-1.x86_64.rpm</filename></package>
      </collection>
    </pkglist>
  </update>
</updates>
`;

const run = promisify(execFile);

let h: RpmSyncHarness;
let repoDir: string;
let rpms: BuiltArchRpm[];

beforeAll(async () => {
  h = await RpmSyncHarness.start();
  repoDir = path.join(h.upstream, 'filters', 'repo');
  rpms = await buildFilterRepo(repoDir, { updateinfo: UPDATEINFO });
});
afterAll(async () => {
  await h?.close();
});

const textOf = (unit: UnitSnapshot) => archPackageText(unit.key as { name: string; epoch: string; version: string; release: string; arch: string });
const fileNames = (texts: readonly string[]) => rpms.filter((r) => texts.includes(archPackageText(r.package))).map((r) => r.fileName).sort();

/** Syncs the filter repository into a host of its own (so every kept package is downloaded), counting the RPM files fetched. */
async function filteredSync(name: string, settings: SyncSettings) {
  const host = await h.freshHost(name);
  h.server.clearRequests();
  const outcome = await h.sync(name, h.urlOf(repoDir), settings, host);
  const fetched = h.server.requests.filter((r) => r.path.endsWith('.rpm')).map((r) => decodeURIComponent(path.posix.basename(r.path))).sort();
  const packages = await h.units(name, 'rpm.package', host);
  return { host, outcome, fetched, packages, texts: packages.map(textOf).sort() };
}

describe('retainPackageVersions', () => {
  test('1 keeps only the newest version of each name.arch by rpm order: 1:1.0 beats 2.0, 2.0 beats 2.0~rc1; only those are downloaded', async () => {
    const { outcome, fetched, texts } = await filteredSync('retain-1', { policy: 'immediate', config: { retainPackageVersions: 1 } });
    const kept = ['hello-1:1.0-1.x86_64', 'hello-2.0-1.i686', 'hello-2.0-1.src', 'hello-debuginfo-2.0-1.x86_64', 'hello-tools-0.9-2.noarch'];
    expect(texts).toEqual(kept);
    expect(fetched).toEqual(fileNames(kept));
    expect(outcome.report.added['rpm.package']).toBe(5);
    expect(outcome.report.log.join('\n')).toMatch(/the filters left out 4 \(4 older version\(s\)\)/);
  });

  test('an export of the trimmed version is a repository in which dnf sees exactly the kept packages', async () => {
    const { host, texts } = await filteredSync('retain-export', { policy: 'immediate', config: { retainPackageVersions: 1 } });
    const exported = path.join(h.work, 'export-retain');
    await host.exportRepository('retain-export', exported);
    const { stdout } = await run('dnf', [
      '-q',
      '--releasever=1',
      '--setopt=reposdir=/dev/null',
      `--setopt=cachedir=${path.join(h.work, 'dnf-cache-retain')}`,
      `--repofrompath=filtered,file://${exported}`,
      '--repo=filtered',
      'repoquery',
      '--qf',
      '%{name}-%{epoch}:%{version}-%{release}.%{arch}',
    ]);
    const seen = stdout.trim().split('\n').map((line) => line.replace('-0:', '-')).sort();
    expect(seen).toEqual(texts);
  });

  test('2 keeps the two newest of each name.arch: 2.0~rc1 is newer than 1.10', async () => {
    const { texts } = await filteredSync('retain-2', { policy: 'on_demand', config: { retainPackageVersions: 2 } });
    expect(texts.filter((t) => t.startsWith('hello-') && /\.(x86_64|i686)$/.test(t) && !t.includes('debuginfo'))).toEqual([
      'hello-1:1.0-1.x86_64',
      'hello-2.0-1.i686',
      'hello-2.0-1.x86_64',
      'hello-2.0~rc1-1.i686',
    ]);
  });
});

describe('names and arches', () => {
  test('excludeNames ["*-debuginfo"] with arches [x86_64, noarch]: those packages only, and only they are downloaded', async () => {
    const { fetched, texts } = await filteredSync('no-debuginfo', { policy: 'immediate', config: { excludeNames: ['*-debuginfo'], arches: ['x86_64', 'noarch'] } });
    const kept = ['hello-1:1.0-1.x86_64', 'hello-2.0-1.x86_64', 'hello-2.0~rc1-1.x86_64', 'hello-tools-0.9-2.noarch'];
    expect(texts).toEqual(kept);
    expect(fetched).toEqual(fileNames(kept));
  });

  test('includeNames matches whole names with globs; arches names exact arches (src included)', async () => {
    const exact = await filteredSync('only-hello-i686', { policy: 'on_demand', config: { includeNames: ['hello'], arches: ['i686', 'src'] } });
    expect(exact.texts).toEqual(['hello-1.10-1.i686', 'hello-2.0-1.i686', 'hello-2.0-1.src', 'hello-2.0~rc1-1.i686']);
    const globbed = await filteredSync('hello-star', { policy: 'on_demand', config: { includeNames: ['hello-*'] } });
    expect(globbed.texts).toEqual(['hello-debuginfo-2.0-1.x86_64', 'hello-tools-0.9-2.noarch']);
  });
});

describe('advisories', () => {
  test('list and link only packages the filters keep; one left with no package is kept, listing none', async () => {
    const { host, packages } = await filteredSync('advisories', { policy: 'on_demand', config: { retainPackageVersions: 1, excludeNames: ['*-debuginfo'] } });
    const advisories = await h.units('advisories', 'rpm.advisory', host);
    expect(advisories.map((a) => a.key['id'])).toEqual(['FILTER-1', 'FILTER-2']);
    const [first, second] = advisories as [UnitSnapshot, UnitSnapshot];
    const listed = (a: UnitSnapshot) => (a.metadata['packages'] as { name: string; epoch: string; version: string; release: string; arch: string }[]).map((p) => archPackageText(p));
    // hello 2.0 x86_64 (an older version) and hello-debuginfo (by name) are gone; hello-ghost, in no primary, is listed as without filters
    expect(listed(first)).toEqual(['hello-1:1.0-1.x86_64', 'hello-2.0-1.i686', 'hello-ghost-9.9-1.x86_64']);
    const idOf = (text: string) => packages.find((p) => textOf(p) === text)!.unitId;
    expect(first.metadata['packageUnitIds']).toEqual([idOf('hello-1:1.0-1.x86_64'), idOf('hello-2.0-1.i686')]);
    expect(listed(second)).toEqual([]);
    expect(second.metadata['packageUnitIds']).toEqual([]);
    const present = new Set(packages.map((p) => p.unitId));
    for (const advisory of advisories) for (const id of advisory.metadata['packageUnitIds'] as string[]) expect(present.has(id)).toBe(true);
  });

  test('without filters they list what upstream lists, as before', async () => {
    const { host } = await filteredSync('unfiltered', { policy: 'on_demand' });
    const [first] = await h.units('unfiltered', 'rpm.advisory', host);
    expect((first!.metadata['packages'] as unknown[]).length).toBe(5);
    expect((first!.metadata['packageUnitIds'] as unknown[]).length).toBe(4);
  });
});

describe('a mirror sync with a new filter', () => {
  test('removes the packages the filter now leaves out', async () => {
    const host = await h.freshHost('mirror');
    const all = await h.sync('mirror', h.urlOf(repoDir), { policy: 'on_demand' }, host);
    expect(all.report.added['rpm.package']).toBe(FILTER_PACKAGES.length);
    const filtered = await h.sync('mirror', h.urlOf(repoDir), { policy: 'on_demand', mirror: true, config: { excludeNames: ['*-debuginfo'] } }, host);
    expect(filtered.report.removed['rpm.package']).toBe(1);
    expect((await h.units('mirror', 'rpm.package', host)).map(textOf)).not.toContain('hello-debuginfo-2.0-1.x86_64');
  });
});

describe('invalid config', () => {
  test.each([
    ['retainPackageVersions', { retainPackageVersions: -1 }],
    ['retainPackageVersions', { retainPackageVersions: 1.5 }],
    ['retainPackageVersions', { retainPackageVersions: '1' }],
    ['includeNames', { includeNames: 'hello' }],
    ['excludeNames', { excludeNames: [1] }],
    ['excludeNames', { excludeNames: [''] }],
    ['arches', { arches: ['x86 64'] }],
  ])('%s %j is TRIBUTARY_ERR_CONFIG_INVALID naming it, before any request', async (field, config) => {
    h.server.clearRequests();
    const error = await h.sync('misconfigured', h.urlOf(repoDir), { config }).catch((e: unknown) => e);
    expect(isTributaryError(error, 'TRIBUTARY_ERR_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toContain(`/${field}`);
    expect(h.server.requests).toEqual([]);
  });

  test('a glob picomatch refuses fails the sync with TRIBUTARY_ERR_CONFIG_INVALID naming the option, before any request, and no version is made', async () => {
    const host: Host = await h.freshHost('bad-glob');
    h.server.clearRequests();
    const error = await h.sync('bad-glob', h.urlOf(repoDir), { config: { includeNames: ['hello', 'hello['] } }, host).catch((e: unknown) => e);
    const root = rootTributaryError(error);
    expect(root?.code).toBe('TRIBUTARY_ERR_CONFIG_INVALID');
    expect(root?.message).toContain('includeNames[1]');
    expect(h.server.requests).toEqual([]);
    expect((await host.getRepository('bad-glob')).latestVersion).toBe(0);
  });
});
