/**
 * End-to-end, issue 19 items 3 and 10: a sync whose primary is a decompression bomb of any
 * compression (256 MiB of spaces or zeros, made by the CLI tools) fails with a typed error once
 * the limit is passed or the parser refuses it, and a truncated bzip2 primary with a typed error
 * that says so; each leaves the previous version as it was. Served over HTTP from 127.0.0.1; the
 * memory a bomb costs is asserted in packages/importer-rpm-example/test/decompression-bombs.test.ts
 * and printed by `npm run bench:bombs`.
 */
import { execFileSync } from 'node:child_process';
import { cp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Host } from '@tributary/core';
import { rootTributaryError } from '@tributary/plugin-api';
import { BOMB_COMPRESSIONS, bombFile, type BombContent } from '../packages/importer-rpm-example/test/bomb-files.js';
import { replaceMetadata } from './fixtures/rpm/build-rpm-repo.js';
import { RpmSyncHarness, type UnitSnapshot } from './fixtures/rpm/rpm-sync-harness.js';

const MiB = 1024 * 1024;
const LIMIT = 64 * MiB;

let h: RpmSyncHarness;
let guarded: Host;
let before: UnitSnapshot[];
let version: number;
const badDir = () => path.join(h.upstream, 'bombs', 'repo');

beforeAll(async () => {
  h = await RpmSyncHarness.start();
  guarded = await h.freshHost('bombs');
  await cp(h.base.dir, badDir(), { recursive: true });
  version = (await h.sync('guarded', h.urlOf(badDir()), { policy: 'on_demand' }, guarded)).version;
  before = await h.units('guarded', undefined, guarded);
  for (const { compression } of BOMB_COMPRESSIONS) for (const content of ['zeros', 'spaces'] as const) bombFile(compression, content, 256);
}, 600_000);
afterAll(async () => {
  await h?.close();
});

/** Syncs the base repository with its primary replaced by `bytes`; returns the root cause of the failure. */
async function refused(bytes: Buffer, fileName: string) {
  await rm(badDir(), { recursive: true, force: true });
  await cp(h.base.dir, badDir(), { recursive: true });
  await replaceMetadata(badDir(), 'primary', { bytes, fileName });
  const error = await h.sync('guarded', h.urlOf(badDir()), { policy: 'on_demand', config: { maxMetadataBytes: LIMIT } }, guarded).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect((await guarded.getRepository('guarded')).latestVersion).toBe(version);
  expect(await h.units('guarded', undefined, guarded)).toEqual(before);
  return rootTributaryError(error);
}

describe.each(BOMB_COMPRESSIONS)('a 256 MiB $compression bomb as primary', ({ compression, extension }) => {
  test.each([
    // spaces are XML whitespace: read until the limit stops them
    ['spaces', 'TRIBUTARY_ERR_DECOMPRESSION_LIMIT'],
    // zeros are no XML: the parser stops at the first chunk, the decompressor with it
    ['zeros', 'TRIBUTARY_ERR_XML_INVALID'],
  ] as [BombContent, string][])(`of %s fails the sync with %s (maxMetadataBytes ${LIMIT / MiB} MiB)`, async (content, code) => {
    const root = await refused(await readFile(bombFile(compression, content, 256)), `bomb-primary.xml.${extension}`);
    expect(root?.code).toBe(code);
    expect(root?.message).toContain(`primary metadata repodata/bomb-primary.xml.${extension}`);
  });
});

test('a truncated bzip2 primary is TRIBUTARY_ERR_ENCODING_INVALID saying so, not an internal TypeError', async () => {
  const repomd = await readFile(path.join(h.base.dir, 'repodata', 'repomd.xml'), 'utf8');
  const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)![1]!;
  const xml = gunzipSync(await readFile(path.join(h.base.dir, href)));
  const bz2 = execFileSync('bzip2', ['-9'], { input: xml });
  const root = await refused(bz2.subarray(0, Math.floor(bz2.length / 2)), 'cut-primary.xml.bz2');
  expect(root?.code).toBe('TRIBUTARY_ERR_ENCODING_INVALID');
  expect(root?.message).toMatch(/^primary metadata repodata\/cut-primary\.xml\.bz2 is not valid bzip2 data: .*truncated/);
  expect(root?.message).not.toMatch(/TypeError|undefined|Cannot read/);
});
