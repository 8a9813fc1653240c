/**
 * Generated repodata (issue 23) against createrepo_c: the same RPMs through createrepo_c and
 * through a sync and `repodata: 'generate'` give the same packages, field for field and byte for
 * byte per package, and dnf reads the same from both; the same version publishes the same bytes;
 * and dnf installs from `tributary serve` after packages were removed and copied in by hand.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { createHost, type Host } from '@tributary/core';
import type { UnitKey } from '@tributary/plugin-api';
import { startFixtureServer, type FixtureServer } from '@tributary/conformance';
import { advisoryOf, parseRepomd, readPrimaryXml, readXmlRecords, rpmImporter, UPDATEINFO_RECORDS, type PrimaryPackage } from '@tributary/importer-rpm-example';
import { PackageDetailsCollector } from '../packages/importer-rpm-example/src/metadata/package-details-collector';
import type { PackageDetails } from '../packages/importer-rpm-example/src/metadata/package-details';
import { readXmlDocument } from '../packages/importer-rpm-example/src/xml/xml-document-reader';
import { buildGenerationRpms, COPIED_PACKAGES, createrepoOf, GENERATION_COMPS, GENERATION_MODULES, GENERATION_PACKAGES, GENERATION_UPDATEINFO } from './fixtures/rpm/generation-packages.js';
import { removeMetadata } from './fixtures/rpm/rewrite-repodata.js';
import { cliBuilt, runCliIn, spawnCli } from './cli-process.js';

const run = promisify(execFile);
const describeBuilt = cliBuilt() ? describe : describe.skip;
const GENERATE = { repodata: 'generate' };

/** The decompressed XML of each record type of the repository in `dir`, by type. */
async function repodataOf(dir: string): Promise<Map<string, string>> {
  const repomd = await readFile(path.join(dir, 'repodata', 'repomd.xml'), 'utf8');
  const out = new Map<string, string>();
  for (const [, type, href] of repomd.matchAll(/<data type="([^"]+)">[\s\S]*?<location href="([^"]+)"\/>/g)) {
    const bytes = await readFile(path.join(dir, href!));
    out.set(type!, (href!.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'));
  }
  return out;
}

/** The `<package>` elements of a primary, filelists or other document, as written, sorted. */
function packageElements(xml: string): string[] {
  return xml
    .split(/\n(?=<package[ >])/)
    .slice(1)
    .map((element) => element.replace(/\n<\/(metadata|filelists|otherdata)>$/, '').replace(/\n$/, ''))
    .sort();
}

async function primaryOf(xml: string): Promise<Omit<PrimaryPackage, 'line'>[]> {
  const out: Omit<PrimaryPackage, 'line'>[] = [];
  for await (const batch of readPrimaryXml(Readable.from([Buffer.from(xml)]), 'primary')) for (const { line: _line, ...p } of batch) out.push(p);
  return out.sort((a, b) => (a.checksum < b.checksum ? -1 : 1));
}

async function detailsOf(xml: string, kind: 'filelists' | 'other'): Promise<PackageDetails[]> {
  const out: PackageDetails[] = [];
  for await (const batch of readXmlDocument(Readable.from([Buffer.from(xml)]), kind, new PackageDetailsCollector(kind, kind, 1000))) out.push(...batch);
  return out.sort((a, b) => (a.pkgId < b.pkgId ? -1 : 1));
}

/** What `dnf repoquery QUERY` says of every package of the repository in `dir`. */
async function repoquery(dir: string, cache: string, query: string): Promise<string> {
  const { stdout } = await run('dnf', ['repoquery', '-q', '--setopt=reposdir=/dev/null', `--setopt=cachedir=${cache}`, `--repofrompath=q,file://${dir}`, '--repo=q', '--releasever=1', query, '*'], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

async function filesOf(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(path.join(dir, 'repodata'))).sort()) {
    out.set(name, createHash('sha256').update(await readFile(path.join(dir, 'repodata', name))).digest('hex'));
  }
  return out;
}

describeBuilt('generated repodata', () => {
  let work: string;
  let home: string;
  let upstream: FixtureServer;
  let host: Host;
  let createrepoDir: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'tributary-rpm-publish-'));
    home = path.join(work, 'home');
    createrepoDir = path.join(work, 'upstream', 'gen');
    await createrepoOf(createrepoDir, await buildGenerationRpms(GENERATION_PACKAGES), GENERATION_UPDATEINFO, { comps: GENERATION_COMPS, modules: GENERATION_MODULES });
    await createrepoOf(path.join(work, 'upstream', 'other'), await buildGenerationRpms(COPIED_PACKAGES));
    const primaryOnly = path.join(work, 'upstream', 'primary-only');
    await createrepoOf(primaryOnly, await buildGenerationRpms(GENERATION_PACKAGES));
    for (const type of ['filelists', 'other']) await removeMetadata(primaryOnly, type);
    upstream = await startFixtureServer({ root: path.join(work, 'upstream') });
    host = await createHost({ storageRoot: path.join(home, 'storage'), store: { sqlite: path.join(home, 'catalog.db') }, plugins: [rpmImporter] });
    for (const name of ['gen', 'other', 'primary-only']) {
      await host.createRepository({ name });
      await host.sync(name, { importer: 'rpm', url: upstream.urlFor(`${name}/`), policy: 'on_demand' });
    }
  });

  afterAll(async () => {
    await host?.close().catch(() => undefined);
    await upstream?.close().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  });

  test("holds what createrepo_c's holds over the same RPMs, byte for byte per package; dnf reads the same; createrepo_c --update accepts it", async () => {
    const generated = path.join(work, 'generated');
    await host.exportRepository('gen', generated, { options: GENERATE });
    const publication = await host.publish('gen', { options: GENERATE });
    expect(publication.summary?.info).toMatchObject({ repodata: 'generated', requested: 'generate', revision: '1', packages: 5, advisories: 2, advisoriesLeftOut: 1 });

    const ours = await repodataOf(generated);
    const theirs = await repodataOf(createrepoDir);
    expect([...ours.keys()].sort()).toEqual(['filelists', 'group', 'group_gz', 'modules', 'other', 'primary', 'updateinfo']);
    // comps and modules passed through as upstream has them
    for (const type of ['group', 'group_gz', 'modules']) expect({ type, content: ours.get(type) }).toEqual({ type, content: theirs.get(type) });
    expect(ours.get('group')).toBe(GENERATION_COMPS);
    for (const type of ['primary', 'filelists', 'other']) {
      const [mine, reference] = [ours.get(type)!, theirs.get(type)!];
      // header (namespaces, package count) and footer as createrepo_c writes them
      expect(mine.slice(0, mine.indexOf('\n<package'))).toBe(reference.slice(0, reference.indexOf('\n<package')));
      expect(mine.slice(mine.lastIndexOf('</package>'))).toBe(reference.slice(reference.lastIndexOf('</package>')));
      expect(packageElements(mine)).toEqual(packageElements(reference));
    }
    expect(await primaryOf(ours.get('primary')!)).toEqual(await primaryOf(theirs.get('primary')!));
    expect(await detailsOf(ours.get('filelists')!, 'filelists')).toEqual(await detailsOf(theirs.get('filelists')!, 'filelists'));
    const changelogs = await detailsOf(ours.get('other')!, 'other');
    expect(changelogs).toEqual(await detailsOf(theirs.get('other')!, 'other'));
    // updateinfo and repomd.xml are well-formed too (read by the importer's strict readers)
    const updates = [];
    for await (const element of readXmlRecords(Readable.from([Buffer.from(ours.get('updateinfo')!)]), { ...UPDATEINFO_RECORDS, source: 'updateinfo' })) updates.push(advisoryOf(element, 'updateinfo'));
    expect(updates.map((u) => `${u.id} ${u.packages.map((p) => p.name).join(',')}`).sort()).toEqual(['TGBA-2024:0002 tg-extra', 'TGSA-2024:0001 tg-logs']);
    const repomd = await parseRepomd(Readable.from([await readFile(path.join(generated, 'repodata', 'repomd.xml'))]), 'https://x.invalid/');
    expect(repomd.records.map((r) => r.type)).toEqual(['primary', 'filelists', 'other', 'group', 'group_gz', 'modules', 'updateinfo']);
    // createrepo_c keeps the newest ten of tg-logs' twelve entries; so did the sync
    expect(changelogs.map((d) => d.changelogs!.length).sort((a, b) => a - b)).toEqual([0, 0, 1, 2, 10]);

    for (const query of ['--requires', '--provides', '--list', '--changelogs', '--conflicts', '--obsoletes', '--recommends', '--suggests', '--supplements', '--enhances']) {
      const reference = await repoquery(createrepoDir, path.join(work, 'dnf-cache-theirs'), query);
      expect({ query, output: await repoquery(generated, path.join(work, 'dnf-cache-ours'), query) }).toEqual({ query, output: reference });
    }
    expect((await repoquery(generated, path.join(work, 'dnf-cache-ours'), '--requires')).split('\n')).toEqual(expect.arrayContaining(['/bin/sh', 'tg-base >= 1.0-2']));

    // createrepo_c reads the generated tree back (the copy's RPMs are newer files: it reads them again, file times change)
    const updated = path.join(work, 'updated');
    await cp(generated, updated, { recursive: true });
    await run('createrepo_c', ['--quiet', '--no-database', '--update', updated]);
    const fileTimeless = (xml: string) => packageElements(xml).map((p) => p.replace(/<time file="\d+"/, '<time'));
    expect(fileTimeless((await repodataOf(updated)).get('primary')!)).toEqual(fileTimeless(theirs.get('primary')!));
  });

  test('a repository without filelists and other syncs, and its generated filelists hold the files primary lists', async () => {
    const generated = path.join(work, 'primary-only-generated');
    await host.exportRepository('primary-only', generated, { options: GENERATE });
    const ours = await repodataOf(generated);
    const theirs = await repodataOf(path.join(work, 'upstream', 'primary-only'));
    expect([...theirs.keys()]).toEqual(['primary']);
    expect(packageElements(ours.get('primary')!)).toEqual(packageElements(theirs.get('primary')!));
    const files = await detailsOf(ours.get('filelists')!, 'filelists');
    const core = files.find((d) => d.files!.some(([p]) => p === '/usr/bin/tg-core'))!;
    expect(core.files).toEqual([['/etc/tg', 'dir'], ['/etc/tg/core.conf'], ['/usr/bin/tg-core']]);
    expect((await detailsOf(ours.get('other')!, 'other')).every((d) => d.changelogs!.length === 0)).toBe(true);
  });

  test('the same version publishes byte-identical files, and again after its publication was deleted', async () => {
    const first = path.join(work, 'same-1');
    const second = path.join(work, 'same-2');
    await host.exportRepository('gen', first, { options: GENERATE, version: 1 });
    const publication = await host.publish('gen', { options: GENERATE, version: 1 });
    await host.store.deletePublication(publication.id);
    const again = await host.publish('gen', { options: GENERATE, version: 1 });
    expect(again.id).not.toBe(publication.id);
    await host.exportRepository('gen', second, { options: GENERATE, version: 1 });
    const files = await filesOf(first);
    expect(files.size).toBe(8);
    expect(await filesOf(second)).toEqual(files);
  });

  test('auto publishes upstream repodata while it describes the version, and generates it once packages were removed or copied in', async () => {
    expect((await host.publish('gen', { version: 1 })).summary?.info).toMatchObject({ repodata: 'upstream', requested: 'auto' });
    const extra = await unitKey('gen', 'tg-extra');
    expect(await host.unassociateUnits('gen', 'rpm.package', [extra])).toBe(1);
    const copied = [await unitKey('other', 'tg-app'), await unitKey('other', 'tg-lib')];
    expect(await host.associateUnits('gen', 'rpm.package', copied)).toBe(2);
    const latest = await host.publish('gen');
    expect(latest.version).toBe(3);
    expect(latest.summary?.info).toMatchObject({ repodata: 'generated', requested: 'auto', packages: 6, advisories: 1, advisoriesLeftOut: 2 });
    expect(String(latest.summary?.info['reason'])).toMatch(/upstream's repodata does not describe it: it holds 6 packages and upstream's primary lists 5/);
    // upstream mode refuses it, naming why
    await expect(host.publish('gen', { options: { repodata: 'upstream' } })).rejects.toMatchObject({ code: 'TRIBUTARY_ERR_PUBLICATION_MISMATCH' });
  });

  test('dnf installs with dependencies from tributary serve after the removal and the copy; updateinfo lists only advisories of present packages', async () => {
    await host.close();
    expect(await runCliIn(home, ['distribution', 'create', 'gen', '--repository', 'gen', '--base-path', 'gen/latest'])).toMatchObject({ code: 0 });
    const serve = spawnCli(['--home', home, '--json', 'serve', '--listen', '127.0.0.1:0']);
    try {
      const served = await new Promise<string>((resolve, reject) => {
        let text = '';
        serve.child.stderr!.on('data', (d: Buffer) => {
          text += d.toString();
          const url = /"url":"([^"]+)"/.exec(text)?.[1];
          if (url) resolve(url);
        });
        void serve.done.then((r) => reject(new Error(`serve exited early: ${r.stderr}`)));
      });
      const root = path.join(work, 'root');
      const dnf = (...args: string[]) =>
        run('dnf', ['-y', '-q', `--installroot=${root}`, '--releasever=1', '--setopt=reposdir=/dev/null', `--setopt=cachedir=${path.join(work, 'dnf-cache-serve')}`, `--repofrompath=tributary,${served}gen/latest/`, '--repo=tributary', '--nogpgcheck', ...args]);
      await dnf('install', 'tg-app', 'tg-logs');
      const { stdout } = await run('rpm', ['--root', root, '-qa', '--qf', '%{NAME}-%{VERSION}-%{RELEASE}\\n']);
      expect(stdout.trim().split('\n').sort()).toEqual(['tg-app-2.0-1', 'tg-base-1.0-2', 'tg-lib-2.0-1', 'tg-logs-1.0-12']);
      expect(await readFile(path.join(root, 'usr/share/tg-lib/lib.txt'), 'utf8')).toBe('l');
      // the removed package is not there to install
      await expect(dnf('install', 'tg-extra')).rejects.toThrow();
      const advisories = (await dnf('updateinfo', 'list', '--all')).stdout;
      expect(advisories).toMatch(/TGSA-2024:0001/);
      expect(advisories).not.toMatch(/TGBA-2024:0002|TGEA-2024:0003/);
      const servedUpdateinfo = (await repodataOfUrl(served, 'gen/latest/')).get('updateinfo')!;
      expect([...servedUpdateinfo.matchAll(/<id>([^<]+)<\/id>/g)].map((m) => m[1])).toEqual(['TGSA-2024:0001']);
    } finally {
      serve.child.kill('SIGTERM');
      await serve.done;
    }
  });

  async function unitKey(repo: string, name: string): Promise<UnitKey> {
    for await (const unit of host.units(repo, { typeId: 'rpm.package' })) if (unit.key['name'] === name) return { ...unit.key };
    throw new Error(`${repo} holds no ${name}`);
  }
});

/** repodataOf for a served tree: repomd.xml and the files it lists, over HTTP. */
async function repodataOfUrl(base: string, prefix: string): Promise<Map<string, string>> {
  const url = (p: string) => new URL(`${prefix}${p}`, base).href;
  const repomd = await (await fetch(url('repodata/repomd.xml'))).text();
  const out = new Map<string, string>();
  for (const [, type, href] of repomd.matchAll(/<data type="([^"]+)">[\s\S]*?<location href="([^"]+)"\/>/g)) {
    const bytes = Buffer.from(await (await fetch(url(href!))).arrayBuffer());
    out.set(type!, (href!.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'));
  }
  return out;
}
