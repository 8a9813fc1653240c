/**
 * End-to-end: every kind of bad upstream input of issue 4 fails an `rpm` sync with a typed error
 * and leaves the repository's previous version exactly as it was.
 */
import { readFile, cp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Host } from '@tributary/core';
import { rootTributaryError } from '@tributary/plugin-api';
import { removeMetadata, replaceMetadata } from './fixtures/rpm/build-rpm-repo.js';
import { RpmSyncHarness, type UnitSnapshot } from './fixtures/rpm/rpm-sync-harness.js';

let h: RpmSyncHarness;
let guarded: Host;
let before: UnitSnapshot[];
let version: number;
const badDir = () => path.join(h.upstream, 'bad', 'repo');

beforeAll(async () => {
  h = await RpmSyncHarness.start();
  // on_demand first, so the immediate syncs below really download (and verify) the packages
  guarded = await h.freshHost('guarded');
  await cp(h.base.dir, badDir(), { recursive: true });
  version = (await h.sync('guarded', h.urlOf(badDir()), { policy: 'on_demand' }, guarded)).version;
  before = await h.units('guarded', undefined, guarded);
});
afterAll(async () => {
  await h?.close();
});

// Files a failed sync did download stay in content-addressed storage (a verified cache), so an
// artifact's `stored` may turn true; everything the version says (units, keys, metadata, paths) stays.
const withoutStored = (snapshot: UnitSnapshot[]) => snapshot.map((u) => ({ ...u, artifacts: u.artifacts.map(({ stored: _stored, ...rest }) => rest) }));

async function expectRefused(causeCode: string, mutate: (dir: string) => Promise<void>): Promise<void> {
  await rm(badDir(), { recursive: true, force: true });
  await cp(h.base.dir, badDir(), { recursive: true });
  await mutate(badDir());
  const error = await h.sync('guarded', h.urlOf(badDir()), { policy: 'immediate' }, guarded).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(rootTributaryError(error)?.code).toBe(causeCode);
  expect((await guarded.getRepository('guarded')).latestVersion).toBe(version);
  expect(withoutStored(await h.units('guarded', undefined, guarded))).toEqual(withoutStored(before));
}

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
  expectRefused('TRIBUTARY_ERR_COMPRESSION_UNSUPPORTED', (dir) =>
    replaceMetadata(dir, 'primary', { bytes: Buffer.concat([Buffer.from('\0ZCK1'), Buffer.alloc(100)]), fileName: 'x-primary.xml.zck' }),
  ));

test('malformed XML', () =>
  expectRefused('TRIBUTARY_ERR_XML_INVALID', (dir) => replaceMetadata(dir, 'primary', { bytes: gz('<metadata><package><name>x</nam></package></metadata>'), fileName: 'm-primary.xml.gz' })));

test('truncated XML', () =>
  expectRefused('TRIBUTARY_ERR_XML_INVALID', (dir) =>
    replaceMetadata(dir, 'primary', { bytes: gz('<metadata packages="1"><package type="rpm"><name>tb-base</name><arch>noar'), fileName: 't-primary.xml.gz' }),
  ));

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
  const real = await readFile(path.join(h.base.dir, 'Packages/t/tb-tools-2.0-3.fc40.noarch.rpm'));
  const tampered = Buffer.from(real);
  tampered[tampered.length - 100] ^= 0xff;
  h.server.fault('bad/repo/Packages/t/tb-tools-2.0-3.fc40.noarch.rpm', { body: tampered });
  try {
    await expectRefused('TRIBUTARY_ERR_DIGEST_MISMATCH', async () => undefined);
  } finally {
    h.server.clearFaults();
  }
});
