import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { ErrorCodes, isTributaryError } from '@tributary/plugin-api';
import {
  advisoryOf,
  readAdvisoriesInThread,
  readMetadataRecords,
  readPrimaryPackages,
  readPrimaryPackagesInThread,
  UPDATEINFO_RECORDS,
  type Advisory,
  type MetadataFile,
  type Nevra,
  type PrimaryPackage,
} from '@tributary/importer-rpm-example';
import { canonicalJson } from '@tributary/plugin-api';
import { readInThread, readPackageEntriesInThread, readPackageNevrasInThread, startMetadataThread } from '../src/metadata/metadata-thread-reader';
import { packageEntryOf, packageMetadata, packEntries, unpackEntries, type PackageEntry } from '../src/metadata/package-entry';

/** Tests run from source; the parsing thread runs the build (`npm test` builds first). */

const HEAD = `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="PACKAGES">\n`;

function packageXml(i: number): string {
  const checksum = (i.toString(16).padStart(8, '0') + 'c'.repeat(56)).slice(0, 64);
  return `<package type="rpm">
  <name>tb-pkg-${i}</name>
  <arch>${i % 3 === 0 ? 'noarch' : 'x86_64'}</arch>
  <version epoch="${i % 5}" ver="1.${i}" rel="1.fc40"/>
  <checksum type="sha256" pkgid="YES">${checksum}</checksum>
  <summary>Package ${i} &amp; friends</summary>
  <description>The ${i}th package, with an accent: &#233;t&#xE9; ✓</description>
  <packager>Tributary</packager>
  <url>https://tributary.invalid/${i}</url>
  <time file="${1700000000 + i}" build="1700000000"/>
  <size package="${1000 + i}" installed="${2000 + i}" archive="${3000 + i}"/>
  <location href="Packages/t/tb-pkg-${i}-1.${i}-1.fc40.rpm"/>
  <format>
    <rpm:license>MIT</rpm:license>
    <rpm:sourcerpm>tb-pkg-${i}-1.${i}-1.fc40.src.rpm</rpm:sourcerpm>
    <rpm:provides><rpm:entry name="tb-pkg-${i}"/></rpm:provides>
    <rpm:requires><rpm:entry name="/bin/sh"/><rpm:entry name="libc.so.6()(64bit)"/></rpm:requires>
  </format>
</package>
`;
}

function primaryXml(count: number, tail = '</metadata>\n'): string {
  return HEAD.replace('PACKAGES', String(count)) + Array.from({ length: count }, (_, i) => packageXml(i)).join('') + tail;
}

/** Threads of this process (Linux): a parsing thread that stopped is no longer listed. */
const threadCount = () => readdirSync('/proc/self/task').length;
/** Elsewhere the tests that count threads are skipped. */
const testCountingThreads = existsSync('/proc/self/task') ? test : test.skip;

function updateinfoXml(count: number, withoutIdAt = -1): string {
  const update = (i: number) => `  <update from="security@tributary.invalid" status="final" type="${i % 2 ? 'bugfix' : 'security'}" version="1">
    ${i === withoutIdAt ? '' : `<id>TBSA-2026:${String(i).padStart(4, '0')}</id>`}<title>Update ${i}</title><severity>Moderate</severity>
    <issued date="2026-01-01 00:00:00"/>
    <references><reference href="https://tributary.invalid/${i}" id="CVE-2026-${i}" type="cve" title="CVE-2026-${i}"/></references>
    <pkglist><collection short="tb"><name>Tributary</name>
      <package name="tb-pkg-${i}" version="1.${i}" release="1.fc40" epoch="0" arch="x86_64"><filename>tb-pkg-${i}.rpm</filename></package>
    </collection></pkglist>
  </update>
`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<updates>\n${Array.from({ length: count }, (_, i) => update(i)).join('')}</updates>\n`;
}

describe('readPrimaryPackagesInThread, readAdvisoriesInThread', () => {
  let dir: string;
  let file: (name: string, xml: string) => Promise<MetadataFile>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tb-primary-thread-'));
    file = async (name, xml) => {
      const target = path.join(dir, name);
      await writeFile(target, name.endsWith('.gz') ? gzipSync(xml) : name.endsWith('.xz') ? execFileSync('xz', ['-T1', '-c'], { input: xml }) : xml);
      return { path: target, href: `repodata/${name}`, type: 'primary' };
    };
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function all(batches: AsyncIterable<PrimaryPackage[]>): Promise<{ packages: PrimaryPackage[]; sizes: number[] }> {
    const packages: PrimaryPackage[] = [];
    const sizes: number[] = [];
    for await (const batch of batches) {
      sizes.push(batch.length);
      packages.push(...batch);
    }
    return { packages, sizes };
  }

  test('gives exactly the packages the same parser gives on the caller thread, in batches of the size asked', async () => {
    const primary = await file('big-primary.xml.gz', primaryXml(3000));
    const inThread = await all(readPrimaryPackagesInThread(primary, { maxBytes: 1 << 30, batchSize: 500, window: 2 }));
    const here = await all(readPrimaryPackages(primary, { maxBytes: 1 << 30 }));
    expect(inThread.packages).toHaveLength(3000);
    expect(inThread.packages).toEqual(here.packages);
    // every batch but the last holds at least batchSize packages
    expect(inThread.sizes.slice(0, -1).every((n) => n >= 500)).toBe(true);
    expect(inThread.sizes.reduce((a, b) => a + b, 0)).toBe(3000);
  });

  test('gives exactly the advisories advisoryOf reads on the caller thread', async () => {
    const updateinfo = { ...(await file('updateinfo.xml.gz', updateinfoXml(700))), type: 'updateinfo' };
    const inThread: Advisory[] = [];
    for await (const batch of readAdvisoriesInThread(updateinfo, { maxBytes: 1 << 30, batchSize: 100 })) inThread.push(...batch);
    const here: Advisory[] = [];
    for await (const element of readMetadataRecords(updateinfo, UPDATEINFO_RECORDS, { maxBytes: 1 << 30 })) here.push(advisoryOf(element, `updateinfo metadata ${updateinfo.href}`));
    expect(inThread).toHaveLength(700);
    expect(inThread).toEqual(here);
  });

  test('an advisory without an id is an XML error naming its line, from the thread too', async () => {
    const updateinfo = { ...(await file('no-id-updateinfo.xml', updateinfoXml(30, 17))), type: 'updateinfo' };
    const reading = (async () => {
      for await (const _batch of readAdvisoriesInThread(updateinfo, { maxBytes: 1 << 30 }));
    })();
    await expect(reading).rejects.toMatchObject({ code: ErrorCodes.XML_INVALID, details: { line: expect.any(Number) } });
    await expect(reading).rejects.toThrow(/updateinfo metadata repodata\/no-id-updateinfo\.xml, line \d+: an <update> has no <id>/);
  });

  test('a parse error keeps its code, message and line', async () => {
    const broken = await file('broken-primary.xml', primaryXml(40, '</package>\n</metadata>\n'));
    const errorOf = async (read: () => AsyncIterable<PrimaryPackage[]>) => {
      try {
        await all(read());
      } catch (error) {
        return error;
      }
      throw new Error('the broken primary was read');
    };
    const inThread = await errorOf(() => readPrimaryPackagesInThread(broken, { maxBytes: 1 << 30 }));
    const here = await errorOf(() => readPrimaryPackages(broken, { maxBytes: 1 << 30 }));
    expect(isTributaryError(inThread, ErrorCodes.XML_INVALID)).toBe(true);
    expect(isTributaryError(here, ErrorCodes.XML_INVALID)).toBe(true);
    expect((inThread as Error).message).toBe((here as Error).message);
    expect((inThread as { details: unknown }).details).toEqual((here as { details: unknown }).details);
    expect((inThread as Error).message).toMatch(/line \d+/);
  });

  test('the decompression cap holds in the thread too', async () => {
    const primary = await file('capped-primary.xml.gz', primaryXml(500));
    await expect(all(readPrimaryPackagesInThread(primary, { maxBytes: 64 * 1024 }))).rejects.toMatchObject({ code: ErrorCodes.DECOMPRESSION_LIMIT });
  });

  testCountingThreads('aborting, or leaving the loop early, stops the thread', async () => {
    const primary = await file('abort-primary.xml.gz', primaryXml(4000));
    await all(readPrimaryPackagesInThread(primary, { maxBytes: 1 << 30 })); // warms the thread pools this process keeps
    const before = threadCount();

    const controller = new AbortController();
    const reading = (async () => {
      for await (const _batch of readPrimaryPackagesInThread(primary, { maxBytes: 1 << 30, batchSize: 100, window: 1, signal: controller.signal })) {
        expect(threadCount()).toBeGreaterThan(before);
        controller.abort(new Error('stop here'));
      }
    })();
    await expect(reading).rejects.toThrow('stop here');
    expect(threadCount()).toBe(before);

    let taken = 0;
    for await (const batch of readPrimaryPackagesInThread(primary, { maxBytes: 1 << 30, batchSize: 100, window: 1 })) {
      taken += batch.length;
      break;
    }
    expect(taken).toBeGreaterThanOrEqual(100);
    expect(threadCount()).toBe(before);
  });

  // Terminating a thread while lzma-native works (or loads) aborted the whole process, this one
  // (the jest worker) included: "terminate called after throwing an instance of 'Napi::Error'".
  testCountingThreads('stopping a thread in the middle of an xz file, or while it starts, leaves the process standing', async () => {
    const primary = await file('stop-primary.xml.xz', primaryXml(4000));
    const before = threadCount();
    for (let i = 0; i < 8; i++) {
      const controller = new AbortController();
      let batches = 0;
      const reading = (async () => {
        for await (const _batch of readPrimaryPackagesInThread(primary, { maxBytes: 1 << 30, batchSize: 50, window: 2, signal: controller.signal })) {
          if (++batches === 1 + (i % 4)) controller.abort(new Error('stop here'));
        }
      })();
      await expect(reading).rejects.toThrow('stop here');
      for await (const _batch of readPrimaryPackagesInThread(primary, { maxBytes: 1 << 30, batchSize: 50, window: 2 })) if (++batches > i % 3) break;
    }
    for (let i = 0; i < 8; i++) {
      const thread = startMetadataThread()!;
      await new Promise((resolve) => setTimeout(resolve, i * 4));
      await thread.stop();
    }
    expect(threadCount()).toBe(before);
    // and it still reads the whole file
    expect((await all(readPrimaryPackagesInThread(primary, { maxBytes: 1 << 30 }))).packages).toHaveLength(4000);
  });

  test('without the thread script (an importer bundled into one file) the same items are read on the calling thread', async () => {
    const primary = await file('inline-primary.xml.gz', primaryXml(300));
    const inline: PrimaryPackage[] = [];
    for await (const batch of readInThread<PrimaryPackage>('primary', primary, { maxBytes: 1 << 30 }, undefined)) inline.push(...batch);
    expect(inline).toHaveLength(300);
    expect(inline).toEqual((await all(readPrimaryPackagesInThread(primary, { maxBytes: 1 << 30 }))).packages);
    const updateinfo = { ...(await file('inline-updateinfo.xml', updateinfoXml(20))), type: 'updateinfo' };
    const advisories: Advisory[] = [];
    for await (const batch of readInThread<Advisory>('updateinfo', updateinfo, { maxBytes: 1 << 30 }, undefined)) advisories.push(...batch);
    expect(advisories.map((a) => a.id)).toEqual(Array.from({ length: 20 }, (_, i) => `TBSA-2026:${String(i).padStart(4, '0')}`));
  });

  test('package entries (metadata as canonical JSON text) are the packages the parser gives, from a thread started before the file was there', async () => {
    const primary = await file('entries-primary.xml.gz', primaryXml(700));
    const here = (await all(readPrimaryPackages(primary, { maxBytes: 1 << 30 }))).packages;
    const thread = startMetadataThread();
    expect(thread).toBeDefined();
    const entries: PackageEntry[] = [];
    for await (const batch of readPackageEntriesInThread(primary, { maxBytes: 1 << 30, thread })) entries.push(...batch);
    expect(entries).toEqual(here.map((p) => packageEntryOf(p)));
    for (const [i, entry] of entries.entries()) {
      expect(entry.metadataJson).toBe(canonicalJson(packageMetadata(here[i]!)));
      expect(entry.packageSize).toBe(here[i]!.size.package);
    }
    // taken by the reader, which ended it: stopping it again does nothing
    await thread!.stop();
  });

  test('NEVRAs (the first reading of retainPackageVersions) are those of the packages the parser gives, on a thread and without one', async () => {
    const primary = await file('nevras-primary.xml.gz', primaryXml(700));
    const here = (await all(readPrimaryPackages(primary, { maxBytes: 1 << 30 }))).packages.map(({ name, epoch, version, release, arch }) => ({ name, epoch, version, release, arch }));
    const threaded: Nevra[] = [];
    for await (const batch of readPackageNevrasInThread(primary, { maxBytes: 1 << 30 })) threaded.push(...batch);
    expect(threaded).toEqual(here);
    const inline: Nevra[] = [];
    for await (const batch of readInThread<Nevra>('primary-nevras', primary, { maxBytes: 1 << 30 }, undefined)) inline.push(...batch);
    expect(inline).toEqual(here);
  });

  test('package entries cross packed as one flat list per batch and come back as they were, xml:base and missing size included', () => {
    const key = { name: 'a', epoch: '0', version: '1', release: '1', arch: 'noarch', checksumType: 'sha256' as const, checksum: 'ab'.repeat(32) };
    const entries: PackageEntry[] = [
      { key, location: { href: 'Packages/a.rpm' }, packageSize: 10, line: 3, metadataJson: '{"a":1}' },
      { key: { ...key, name: 'b' }, location: { href: '../b.rpm', xmlBase: 'http://mirror.invalid/' }, packageSize: undefined, line: 9, metadataJson: '{}' },
    ];
    const packed = packEntries(entries);
    expect(packed.every((value) => value === null || typeof value !== 'object')).toBe(true);
    expect(unpackEntries(structuredClone(packed))).toEqual(entries);
  });

  testCountingThreads('a thread started early and never used ends with stop()', async () => {
    const before = threadCount();
    const thread = startMetadataThread()!;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(threadCount()).toBeGreaterThan(before);
    await thread.stop();
    expect(threadCount()).toBe(before);
  });

  test('a thread started early that stopped before it was given its file fails the read with a typed error, not a hang', async () => {
    const primary = await file('orphan-primary.xml', primaryXml(1));
    const script = path.join(dir, 'exits.js');
    await writeFile(script, 'process.exit(3);\n');
    const thread = startMetadataThread(script)!;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const failure = await (async () => {
      for await (const _batch of readPackageEntriesInThread(primary, { maxBytes: 1 << 30, thread })) return undefined;
      return undefined;
    })().catch((e: unknown) => e);
    expect(isTributaryError(failure, ErrorCodes.PLUGIN_MISBEHAVED)).toBe(true);
    expect((failure as Error).message).toMatch(/exit code 3/);
  });

  testCountingThreads('an aborted signal stops before a thread starts', async () => {
    const primary = await file('never-primary.xml', primaryXml(1));
    const before = threadCount();
    await expect(all(readPrimaryPackagesInThread(primary, { maxBytes: 1 << 30, signal: AbortSignal.abort(new Error('already')) }))).rejects.toThrow('already');
    expect(threadCount()).toBe(before);
  });
});
