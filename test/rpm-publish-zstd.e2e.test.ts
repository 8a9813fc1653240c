/**
 * Generated repodata compressed with zstd (issue 23, `compression: 'zstd'`): each generated file
 * is one valid zstd frame (`zstd -t`), repomd.xml's checksum, size, open-checksum and open-size
 * are those of the file and of what `zstd -d` gives back, the XML is the same as the gz
 * publication's, the same version gives the same bytes again, and Debian's dnf (libsolv reads
 * zstd through libzstd) lists and installs from it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { createHost, type Host } from '@tributary/core';
import { startFixtureServer, type FixtureServer } from '@tributary/conformance';
import { parseRepomd, rpmImporter, type RepomdRecord } from '@tributary/importer-rpm-example';
import { buildGenerationRpms, createrepoOf, GENERATION_COMPS, GENERATION_MODULES, GENERATION_PACKAGES, GENERATION_UPDATEINFO } from './fixtures/rpm/generation-packages.js';

const run = promisify(execFile);
const ZSTD = { repodata: 'generate', compression: 'zstd' };
const GZ = { repodata: 'generate' };
const GENERATED = ['primary', 'filelists', 'other', 'updateinfo'];

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function recordsOf(dir: string): Promise<readonly RepomdRecord[]> {
  return (await parseRepomd(Readable.from([await readFile(path.join(dir, 'repodata', 'repomd.xml'))]), 'https://x.invalid/')).records;
}

/** `zstd -d` of a file, by the zstd command (not our own decoder). */
async function zstdDecompressed(file: string): Promise<Buffer> {
  const { stdout } = await run('zstd', ['-d', '-q', '-c', file], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

describe('generated repodata compressed with zstd', () => {
  let work: string;
  let host: Host;
  let upstream: FixtureServer;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'tributary-rpm-zstd-'));
    await createrepoOf(path.join(work, 'upstream', 'gen'), await buildGenerationRpms(GENERATION_PACKAGES), GENERATION_UPDATEINFO, { comps: GENERATION_COMPS, modules: GENERATION_MODULES });
    upstream = await startFixtureServer({ root: path.join(work, 'upstream') });
    host = await createHost({ storageRoot: path.join(work, 'home', 'storage'), store: { sqlite: path.join(work, 'home', 'catalog.db') }, plugins: [rpmImporter] });
    await host.createRepository({ name: 'gen' });
    await host.sync('gen', { importer: 'rpm', url: upstream.urlFor('gen/'), policy: 'immediate' });
  });

  afterAll(async () => {
    await host?.close().catch(() => undefined);
    await upstream?.close().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  });

  test("each generated file is one zstd frame whose sizes and checksums repomd.xml names, holding the gz publication's XML; published again, the same bytes", async () => {
    const zstdDir = path.join(work, 'zstd');
    const gzDir = path.join(work, 'gz');
    await host.exportRepository('gen', zstdDir, { options: ZSTD });
    await host.exportRepository('gen', gzDir, { options: GZ });
    const publication = await host.publish('gen', { options: ZSTD });
    expect(publication.summary?.info).toMatchObject({ repodata: 'generated', compression: 'zstd', packages: 5, advisories: 2 });

    const records = await recordsOf(zstdDir);
    const gzRecords = new Map((await recordsOf(gzDir)).map((r) => [r.type, r]));
    expect(records.map((r) => r.type)).toEqual(['primary', 'filelists', 'other', 'group', 'group_gz', 'modules', 'updateinfo']);
    for (const record of records) {
      const file = path.join(zstdDir, record.href);
      const bytes = await readFile(file);
      // repomd.xml names the compressed file's checksum and size
      expect({ type: record.type, checksum: record.checksum, size: record.size }).toEqual({ type: record.type, checksum: sha256(bytes), size: bytes.length });
      if (!GENERATED.includes(record.type)) {
        // comps and modules pass through as upstream has them
        expect(record.href).toBe(gzRecords.get(record.type)!.href);
        continue;
      }
      expect(record.href).toBe(`repodata/${record.checksum}-${record.type}.xml.zst`);
      await run('zstd', ['-t', '-q', file]);
      const xml = await zstdDecompressed(file);
      // ... and the open checksum and open size of what it decompresses to
      expect({ type: record.type, openChecksum: record.openDigests.sha256, openSize: record.openSize }).toEqual({ type: record.type, openChecksum: sha256(xml), openSize: xml.length });
      // one frame, with zstd's content checksum (as the zstd command writes)
      const { stdout: listed } = await run('zstd', ['-l', '-v', file]);
      expect(listed).toMatch(/# Zstandard Frames: 1\b/);
      expect(listed).toMatch(/Check: XXH64/);
      // the same XML as the gz publication
      const gz = gzRecords.get(record.type)!;
      expect(gz.href.endsWith('.xml.gz')).toBe(true);
      expect(xml.equals(gunzipSync(await readFile(path.join(gzDir, gz.href))))).toBe(true);
      expect(record.openDigests.sha256).toBe(gz.openDigests.sha256);
    }

    // the same version published again (its publication deleted first) gives the same bytes
    await host.store.deletePublication(publication.id);
    const again = path.join(work, 'zstd-again');
    await host.exportRepository('gen', again, { options: ZSTD });
    const repomd = await readFile(path.join(zstdDir, 'repodata', 'repomd.xml'));
    expect((await readFile(path.join(again, 'repodata', 'repomd.xml'))).equals(repomd)).toBe(true);
    for (const record of records) expect(sha256(await readFile(path.join(again, record.href)))).toBe(record.checksum);
  });

  test("dnf reads zstd repodata as it reads the gz publication's, and installs with dependencies from it", async () => {
    const zstdDir = path.join(work, 'zstd-dnf');
    const gzDir = path.join(work, 'gz-dnf');
    await host.exportRepository('gen', zstdDir, { options: ZSTD });
    await host.exportRepository('gen', gzDir, { options: GZ });
    const dnf = (dir: string, cache: string, ...args: string[]) =>
      run('dnf', ['-q', '--releasever=1', '--setopt=reposdir=/dev/null', `--setopt=cachedir=${path.join(work, cache)}`, `--repofrompath=t,file://${dir}`, '--repo=t', '--nogpgcheck', ...args], { maxBuffer: 16 * 1024 * 1024 });
    for (const query of ['--requires', '--provides', '--list', '--changelogs']) {
      const reference = (await dnf(gzDir, 'cache-gz', 'repoquery', query, '*')).stdout;
      expect(reference).not.toBe('');
      expect({ query, output: (await dnf(zstdDir, 'cache-zstd', 'repoquery', query, '*')).stdout }).toEqual({ query, output: reference });
    }
    const root = path.join(work, 'root');
    await dnf(zstdDir, 'cache-install', '-y', `--installroot=${root}`, 'install', 'tg-logs');
    const { stdout } = await run('rpm', ['--root', root, '-qa', '--qf', '%{NAME}\\n']);
    expect(stdout.trim().split('\n').sort()).toEqual(['tg-base', 'tg-logs']);
    // advisories are listed against what the root holds: the same from both
    const advisories = (await dnf(zstdDir, 'cache-install', `--installroot=${root}`, 'updateinfo', 'list', '--all')).stdout;
    expect(advisories).toMatch(/TGSA-2024:0001/);
    expect(advisories).toBe((await dnf(gzDir, 'cache-install-gz', `--installroot=${root}`, 'updateinfo', 'list', '--all')).stdout);
  });
});
