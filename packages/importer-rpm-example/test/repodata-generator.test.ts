/**
 * generateRepodata's package count: gz documents hash their open-checksum while written, from the
 * catalog's count of packages; when packages are left out (no file, a path taken before) that count
 * is wrong, and the version is generated again with the count found. Either way the files hold
 * what repomd.xml says of them, and each package file goes into the tree once.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { PublishContext, PublishedArtifact, PublishUnit } from '@tributary/plugin-api';
import { generateRepodata, type GenerateRepodataOptions } from '../src/publish/repodata-generator.js';

function pkg(name: string, file: string | undefined): PublishUnit {
  const checksum = createHash('sha256').update(name).digest('hex');
  const unitId = `u-${name}`;
  return {
    unitId,
    typeId: 'rpm.package',
    key: { name, epoch: '0', version: '1.0', release: '1', arch: 'noarch', checksumType: 'sha256', checksum },
    metadata: { summary: `${name} summary`, files: [[`/usr/bin/${name}`]], changelogs: [], time: { file: 1700000000, build: 1700000000 } },
    origin: 'sync',
    artifacts: file === undefined ? [] : [{ unitId, relativePath: file, sha256: checksum, size: 10, stored: false, digests: { sha256: checksum }, remoteUrls: [`https://x.invalid/${file}`] }],
  };
}

function fakeContext(workingDir: string, units: readonly PublishUnit[], counted: number) {
  const files = new Map<string, Buffer>();
  const artifacts: PublishedArtifact[] = [];
  const warnings: string[] = [];
  const ctx = {
    repository: { name: 'r', version: 3 },
    options: { checksumType: 'sha256', maxMetadataBytes: 1 << 30, compression: 'gz' },
    signal: new AbortController().signal,
    log: { info: () => undefined, warn: (m: string) => void warnings.push(m) },
    workingDir,
    async *units(options: { typeId?: string; batchSize?: number } = {}) {
      const of = units.filter((u) => u.typeId === options.typeId);
      for (let i = 0; i < of.length; i += 2) yield of.slice(i, i + 2);
    },
    countUnits: async () => ({ 'rpm.package': counted }),
    addArtifacts: async (entries: readonly PublishedArtifact[]) => void artifacts.push(...entries),
    async addFile(file: string, content: string | Uint8Array | AsyncIterable<Uint8Array>) {
      const parts: Buffer[] = [];
      if (typeof content === 'string' || content instanceof Uint8Array) parts.push(Buffer.from(content));
      else for await (const chunk of content) parts.push(Buffer.from(chunk));
      const bytes = Buffer.concat(parts);
      files.set(file, bytes);
      return { path: file, size: bytes.length, digests: { sha256: createHash('sha256').update(bytes).digest('hex') } };
    },
  } as unknown as PublishContext<GenerateRepodataOptions>;
  return { ctx, files, artifacts, warnings };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('generateRepodata and the package count', () => {
  let work: string;
  beforeEach(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'tributary-repodata-count-'));
  });
  afterEach(async () => rm(work, { recursive: true, force: true }));

  test.each([
    ['all packages listed', [pkg('a', 'P/a.rpm'), pkg('b', 'P/b.rpm'), pkg('c', 'P/c.rpm')], 3, ['a', 'b', 'c']],
    ['one without a file and one at a path taken before: generated again with the count found', [pkg('a', 'P/a.rpm'), pkg('b', undefined), pkg('c', 'P/a.rpm'), pkg('d', 'P/d.rpm')], 2, ['a', 'd']],
  ])('%s', async (_name, units, packages, names) => {
    const { ctx, files, artifacts, warnings } = fakeContext(work, units, units.length);
    const result = await generateRepodata(ctx, [], undefined);
    expect(result.packages).toBe(packages);
    // each package file once, even when generated twice
    expect(artifacts.map((a) => a.path)).toEqual(names.map((n) => `P/${n}.rpm`));
    const repomd = files.get('repodata/repomd.xml')!.toString();
    for (const type of ['primary', 'filelists', 'other']) {
      const record = new RegExp(`<data type="${type}">[\\s\\S]*?<checksum type="sha256">(\\w+)</checksum>[\\s\\S]*?<open-checksum type="sha256">(\\w+)</open-checksum>[\\s\\S]*?<location href="([^"]+)"/>[\\s\\S]*?<size>(\\d+)</size>[\\s\\S]*?<open-size>(\\d+)</open-size>`).exec(repomd)!;
      const [, checksum, openChecksum, href, size, openSize] = record;
      const bytes = files.get(href!)!;
      const xml = gunzipSync(bytes);
      expect({ type, checksum: sha256(bytes), size: bytes.length, openChecksum: sha256(xml), openSize: xml.length }).toEqual({ type, checksum, size: Number(size), openChecksum, openSize: Number(openSize) });
      expect(xml.toString()).toContain(` packages="${packages}">`);
      expect([...xml.toString().matchAll(/<package /g)].length).toBe(packages);
    }
    // what was left out is logged once
    expect(warnings.filter((w) => /left out/.test(w)).length).toBe(packages === units.length ? 0 : 2);
  });
});
