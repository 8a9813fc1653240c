import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { nevraOf, storedRelativePath } from '@tributary/importer-rpm-example';
import { buildRpmRepo, queryRpms, type RepoChecksum, type RepoCompression } from '../../../test/fixtures/rpm/build-rpm-repo.js';
import { LocalRepoReader } from './local-repo-reader.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'tributary-rpm-parse-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const compressions: RepoCompression[] = ['gz', 'xz', 'bz2', 'zstd', 'none'];
const checksums: RepoChecksum[] = ['sha256', 'sha', 'md5', 'sha512'];
const expectedAlgorithm: Record<RepoChecksum, string> = { sha256: 'sha256', sha: 'sha1', md5: 'md5', sha512: 'sha512' };

describe('primary.xml of repositories built by createrepo_c', () => {
  test.each(compressions)('%s-compressed primary yields exactly the packages rpm -qp reports', async (compression) => {
    const repo = await buildRpmRepo(path.join(work, `c-${compression}`, 'repo'), { compression, updateinfo: true });
    const reader = new LocalRepoReader(repo.dir);
    const primary = await reader.record('primary');
    expect(await reader.checksumMismatches(primary)).toEqual([]);
    const packages = await reader.packages();
    const truth = await queryRpms(repo.rpmFiles);
    const fromPrimary = packages.map((p) => ({ name: p.name, epoch: p.epoch, version: p.version, release: p.release, arch: p.arch, summary: p.summary, license: p.license, sourcerpm: p.sourcerpm }));
    expect(sortByNevra(fromPrimary)).toEqual(sortByNevra(truth));
    expect(packages.every((p) => p.checksumType === 'sha256' && /^[0-9a-f]{64}$/.test(p.checksum))).toBe(true);
  });

  test.each(checksums)('checksum type %s is read from repomd.xml and primary', async (checksum) => {
    const repo = await buildRpmRepo(path.join(work, `s-${checksum}`, 'repo'), { checksum });
    const reader = new LocalRepoReader(repo.dir);
    const repomd = await reader.repomd();
    expect(repomd.records.map((r) => r.type).sort()).toEqual(['filelists', 'other', 'primary']);
    for (const record of repomd.records) {
      expect(record.checksumType).toBe(expectedAlgorithm[checksum]);
      expect(await reader.checksumMismatches(record)).toEqual([]);
    }
    const packages = await reader.packages();
    expect(new Set(packages.map((p) => p.checksumType))).toEqual(new Set([expectedAlgorithm[checksum]]));
  });

  test('requires, provides, sizes, times and locations in subdirectories are read', async () => {
    const repo = await buildRpmRepo(path.join(work, 'fields', 'repo'));
    const packages = await new LocalRepoReader(repo.dir).packages();
    const tools = packages.find((p) => p.name === 'tb-tools')!;
    expect(tools).toMatchObject({ epoch: '2', version: '2.0', release: '3.fc40', arch: 'noarch', license: 'Apache-2.0', vendor: 'Tributary fixtures', url: 'https://tributary.invalid/fixtures' });
    expect(tools.requires.map((d) => d[0])).toEqual(expect.arrayContaining(['tb-hello', 'tb-greeting']));
    expect(tools.requires).toContainEqual(['tb-hello', 'GE', '0', '1.1']);
    expect(tools.location).toEqual({ href: 'Packages/t/tb-tools-2.0-3.fc40.noarch.rpm' });
    const hello11 = packages.find((p) => p.name === 'tb-hello' && p.version === '1.1')!;
    expect(hello11.provides.map((d) => d[0])).toEqual(expect.arrayContaining(['tb-greeting', 'tb-hello']));
    expect(hello11.size.package).toBeGreaterThan(1000);
    expect(hello11.size.installed).toBe('hello 1.1\n'.length);
    expect(hello11.time.build).toBe(1700000000);
  });

  test('createrepo_c --baseurl puts xml:base on every package location', async () => {
    const repo = await buildRpmRepo(path.join(work, 'baseurl', 'repo'), { baseurl: 'http://mirror.tributary.invalid/el9/' });
    const packages = await new LocalRepoReader(repo.dir).packages();
    expect(packages.map((p) => p.location.xmlBase)).toEqual(packages.map(() => 'http://mirror.tributary.invalid/el9/'));
  });

  test('hrefs that climb out of the repository keep a safe stored path', async () => {
    const repo = await buildRpmRepo(path.join(work, 'parent', 'repo'), { layout: 'parent' });
    const packages = await new LocalRepoReader(repo.dir).packages();
    const base = packages.find((p) => p.name === 'tb-base')!;
    expect(base.location.href).toBe('../pool/Packages/t/tb-base-1.0-1.noarch.rpm');
    expect(storedRelativePath(base.location.href)).toBe('_parent/pool/Packages/t/tb-base-1.0-1.noarch.rpm');
  });

  test('a package placed twice is listed twice by primary (the importer keeps the first)', async () => {
    const repo = await buildRpmRepo(path.join(work, 'dup', 'repo'), { duplicate: 'tb-base-1.0-1.noarch.rpm' });
    const packages = await new LocalRepoReader(repo.dir).packages();
    const bases = packages.filter((p) => p.name === 'tb-base');
    expect(bases).toHaveLength(2);
    expect(new Set(bases.map(nevraOf)).size).toBe(1);
    expect(bases[0]!.checksum).toBe(bases[1]!.checksum);
  });
});

describe('updateinfo.xml added by modifyrepo_c', () => {
  test.each(['gz', 'zstd'] as const)('%s: advisories with their references and package lists', async (compression) => {
    const repo = await buildRpmRepo(path.join(work, `u-${compression}`, 'repo'), { compression, updateinfo: true });
    const advisories = await new LocalRepoReader(repo.dir).advisories();
    expect(advisories.map((a) => a.id)).toEqual(['TBSA-2024:0001', 'TBBA-2024:0002']);
    const security = advisories[0]!;
    expect(security).toMatchObject({
      type: 'security',
      status: 'final',
      severity: 'Important',
      title: 'Important: tb-hello security update',
      issued: '2024-01-15 00:00:00',
      updated: '2024-01-16 08:30:00',
      description: 'tb-hello 1.1 fixes CVE-2024-00001 & hardens tb-base usage.',
    });
    expect(security.references.map((r) => r.id)).toEqual(['1', 'CVE-2024-00001']);
    expect(security.packages.map(nevraOf)).toEqual(['tb-hello-0:1.1-1.noarch', 'tb-base-0:1.0-1.noarch']);
    expect(advisories[1]!.packages.map(nevraOf)).toEqual(['tb-tools-2:2.0-3.fc40.noarch', 'tb-ghost-0:9.9-1.noarch']);
  });
});

function sortByNevra<T extends { name: string; epoch: string; version: string; release: string; arch: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => nevraOf(a).localeCompare(nevraOf(b)));
}
