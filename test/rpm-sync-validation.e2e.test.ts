/**
 * End-to-end, issue 19 item 9: a primary whose packages have NEVRA fields rpm does not allow fails
 * the sync with TRIBUTARY_ERR_XML_INVALID naming the package and its line, and leaves the previous
 * version as it was; a `packages` count that disagrees with primary is logged; a wrong
 * open-checksum is TRIBUTARY_ERR_DIGEST_MISMATCH naming the file. Served over HTTP from 127.0.0.1.
 */
import { cp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Host } from '@tributary/core';
import { rootTributaryError } from '@tributary/plugin-api';
import { replaceMetadata } from './fixtures/rpm/build-rpm-repo.js';
import { RpmSyncHarness, type UnitSnapshot } from './fixtures/rpm/rpm-sync-harness.js';

let h: RpmSyncHarness;
let guarded: Host;
let before: UnitSnapshot[];
let version: number;
const badDir = () => path.join(h.upstream, 'invalid', 'repo');

beforeAll(async () => {
  h = await RpmSyncHarness.start();
  guarded = await h.freshHost('validation');
  await cp(h.base.dir, badDir(), { recursive: true });
  version = (await h.sync('guarded', h.urlOf(badDir()), { policy: 'on_demand' }, guarded)).version;
  before = await h.units('guarded', undefined, guarded);
});
afterAll(async () => {
  await h?.close();
});


/** A fresh copy of the base repository whose primary XML `edit` rewrote; its open-checksum made right again unless `keepOpenChecksum`. */
async function freshRepoWithPrimary(edit: (xml: string) => string, keepOpenChecksum = false): Promise<string> {
  const dir = badDir();
  await rm(dir, { recursive: true, force: true });
  await cp(h.base.dir, dir, { recursive: true });
  const repomdPath = path.join(dir, 'repodata', 'repomd.xml');
  const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(await readFile(repomdPath, 'utf8'))![1]!;
  const original = gunzipSync(await readFile(path.join(dir, href))).toString('utf8');
  const xml = edit(original);
  expect(xml).not.toBe(original);
  // keepOpenChecksum: repomd.xml still declares the original content's open-checksum, now wrong
  await replaceMetadata(dir, 'primary', { bytes: gzipSync(xml), fileName: 'edited-primary.xml.gz', openSize: Buffer.byteLength(xml), open: Buffer.from(keepOpenChecksum ? original : xml) });
  return dir;
}

async function syncError(dir: string): Promise<unknown> {
  return h.sync('guarded', h.urlOf(dir), { policy: 'on_demand' }, guarded).then(
    () => undefined,
    (error: unknown) => error,
  );
}

async function expectUntouched(): Promise<void> {
  expect((await guarded.getRepository('guarded')).latestVersion).toBe(version);
  expect(await h.units('guarded', undefined, guarded)).toEqual(before);
}

describe('NEVRA fields rpm does not allow are refused, naming the package', () => {
  test.each([
    ['epoch="abc"', (xml: string) => xml.replace(/(<name>tb-base<\/name>[\s\S]*?<version) epoch="\d+"/, '$1 epoch="abc"'), 'epoch "abc"'],
    ['epoch="-1"', (xml: string) => xml.replace(/(<name>tb-base<\/name>[\s\S]*?<version) epoch="\d+"/, '$1 epoch="-1"'), 'epoch "-1"'],
    ['a version with -', (xml: string) => xml.replace(/(<name>tb-base<\/name>[\s\S]*?<version [^>]*?)ver="([^"]+)"/, '$1ver="$2-x"'), `holds '-'`],
    ['a release with whitespace', (xml: string) => xml.replace(/(<name>tb-base<\/name>[\s\S]*?<version [^>]*?)rel="([^"]+)"/, '$1rel="$2 x"'), 'holds whitespace'],
  ])('%s', async (_what, edit, problem) => {
    const dir = await freshRepoWithPrimary(edit);
    const root = rootTributaryError(await syncError(dir));
    expect(root?.code).toBe('TRIBUTARY_ERR_XML_INVALID');
    expect(root?.message).toMatch(/^primary metadata repodata\/edited-primary\.xml\.gz, line \d+: package "tb-base": its /);
    expect(root?.message).toContain(problem);
    expect(root?.details).toMatchObject({ package: 'tb-base', line: expect.any(Number) });
    await expectUntouched();
  });
});

test('a packages count that disagrees with primary is logged, and the sync goes on', async () => {
  const dir = await freshRepoWithPrimary((xml) => xml.replace(/(<metadata [^>]*packages=")(\d+)"/, (_, head: string, count: string) => `${head}${Number(count) + 2}"`));
  const outcome = await h.sync('counted', h.urlOf(dir), { policy: 'on_demand' });
  expect(outcome.report.added['rpm.package']).toBeGreaterThan(0);
  expect(outcome.report.log.join('\n')).toMatch(/primary metadata repodata\/edited-primary\.xml\.gz: <metadata> declares packages="\d+" but holds \d+ <package> element\(s\)/);
});

test('a wrong open-checksum is TRIBUTARY_ERR_DIGEST_MISMATCH naming the file', async () => {
  const dir = await freshRepoWithPrimary((xml) => xml.replace('</metadata>', '<!-- changed after repomd.xml was written -->\n</metadata>'), true);
  const root = rootTributaryError(await syncError(dir));
  expect(root?.code).toBe('TRIBUTARY_ERR_DIGEST_MISMATCH');
  expect(root?.message).toMatch(/^primary metadata repodata\/edited-primary\.xml\.gz: its decompressed content has sha256 [0-9a-f]{64}, but repomd\.xml's open-checksum says [0-9a-f]{64}$/);
  await expectUntouched();
});
