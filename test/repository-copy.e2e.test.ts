/**
 * End-to-end: copying units between repositories by filter, and adding and removing them by key,
 * file and filter, through the CLI on each store (the embedded SQLite catalog, and MongoDB when a
 * server is available). Each change is one new version; one that matches nothing is a typed error
 * and commits none. Copied on_demand units keep where their bytes come from: the target exports them.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { startFixtureServer, type FixtureServer } from '@tributary/conformance';
import { buildRpmRepo, type BuiltRpm } from './fixtures/rpm/build-rpm-repo';
import { runCliIn } from './cli-process';
import { mongoUri, MONGODB_SKIP_REASON, testDatabaseName } from './mongo-uri';

const lines = (text: string) => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
const nevraOf = (key: Record<string, unknown>) => `${key['name']}-${key['version']}-${key['release']}`;

interface StoreUnderTest {
  readonly name: string;
  readonly skip?: string;
  /** The `--store` arguments, and how to dispose of the catalog afterwards. */
  open(home: string): Promise<{ argv: string[]; dispose(): Promise<void> }>;
}

const STORES: readonly StoreUnderTest[] = [
  { name: 'sqlite', open: async () => ({ argv: [], dispose: async () => undefined }) },
  {
    name: 'mongodb',
    ...(mongoUri === undefined ? { skip: MONGODB_SKIP_REASON } : {}),
    open: async () => {
      const database = testDatabaseName('copy');
      const uri = new URL(mongoUri!);
      uri.pathname = `/${database}`;
      return {
        argv: ['--store', uri.toString()],
        dispose: async () => {
          const client = await MongoClient.connect(mongoUri!);
          await client.db(database).dropDatabase().catch(() => undefined);
          await client.close();
        },
      };
    },
  },
];

let work: string;
let server: FixtureServer;
let rpms: readonly BuiltRpm[];

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'tributary-copy-e2e-'));
  rpms = (await buildRpmRepo(path.join(work, 'upstream', 'all', 'repo'))).rpms;
  server = await startFixtureServer({ root: path.join(work, 'upstream') });
});
afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

describe.each(STORES)('copy, units add and units remove on the $name store', (store) => {
  const maybe = store.skip === undefined ? it : it.skip;
  let home: string;
  let catalog: { argv: string[]; dispose(): Promise<void> };
  const cli = async (...argv: string[]) => {
    const run = await runCliIn(home, [...catalog.argv, ...argv]);
    if (run.code !== 0) throw new Error(`tributary ${argv.join(' ')} failed (${run.code}): ${run.stderr}`);
    return run.stdout;
  };
  const failure = async (...argv: string[]) => {
    const run = await runCliIn(home, [...catalog.argv, '--json', ...argv]);
    expect(run.code).not.toBe(0);
    return (JSON.parse(run.stderr) as { error: { code: string; message: string; details: Record<string, unknown> } }).error;
  };
  const packages = async (repo: string, version?: number) =>
    lines(await cli('--json', 'units', repo, '--type', 'rpm.package', ...(version === undefined ? [] : ['--version', String(version)])));
  const nevras = async (repo: string, version?: number) => (await packages(repo, version)).map((u) => nevraOf(u['key'] as Record<string, unknown>)).sort();
  const latest = async (repo: string) => (JSON.parse(await cli('--json', 'repo', 'show', repo)) as { latestVersion: number }).latestVersion;

  beforeEach(async () => {
    if (store.skip !== undefined) return;
    home = await mkdtemp(path.join(work, `home-${store.name}-`));
    catalog = await store.open(home);
  });
  afterEach(async () => {
    if (store.skip !== undefined) return;
    await catalog.dispose();
    await rm(home, { recursive: true, force: true });
  });

  maybe(`copies what a filter matches into one new version, by reference; units remove by key; each change one version${store.skip ? ` (${store.skip})` : ''}`, async () => {
    await cli('sync', 'src', '--create', '--importer', 'rpm', '--url', server.urlFor('all/repo/'), '--policy', 'on_demand');
    await cli('repo', 'create', 'dst');

    const copied = JSON.parse(await cli('--json', 'copy', 'src', 'dst', '--filter', 'name=tb-hello*')) as Record<string, unknown>;
    expect(copied).toMatchObject({ repository: 'dst', version: 1, newVersion: true, added: { 'rpm.package': 2 }, removed: {} });
    expect(await nevras('dst')).toEqual(['tb-hello-1.0-1', 'tb-hello-1.1-1']);
    const views = await packages('dst');
    expect(views.every((u) => u['origin'] === 'user')).toBe(true);
    // by reference: the same units as the source shows, files and all (not stored: on_demand)
    const sourceViews = (await packages('src')).filter((u) => String((u['key'] as Record<string, unknown>)['name']).startsWith('tb-hello'));
    expect(views.map((u) => ({ key: u['key'], metadata: u['metadata'], artifacts: u['artifacts'] }))).toEqual(
      sourceViews.map((u) => ({ key: u['key'], metadata: u['metadata'], artifacts: u['artifacts'] })),
    );
    expect(lines(await cli('--json', 'versions', 'dst'))).toEqual([
      expect.objectContaining({ version: 1, kind: 'copy', note: "copy from 'src' version 1 where name=tb-hello*", counts: { 'rpm.package': 2 }, added: { 'rpm.package': 2 } }),
    ]);

    // the target serves the copied units on demand: their remote sources came with them
    const out = path.join(home, 'export-dst');
    const exported = JSON.parse(await cli('--json', 'export', 'dst', out)) as { fetched: number };
    expect(exported.fetched).toBe(2);
    const files = (await readdir(out, { recursive: true })).filter((f) => f.endsWith('.rpm'));
    expect(files.map((f) => path.basename(f)).sort()).toEqual(['tb-hello-1.0-1.noarch.rpm', 'tb-hello-1.1-1.noarch.rpm']);
    for (const file of files) {
      const upstream = rpms.find((r) => r.fileName === path.basename(file))!;
      expect(createHash('sha256').update(await readFile(path.join(out, file))).digest('hex')).toBe(createHash('sha256').update(await readFile(upstream.path)).digest('hex'));
    }

    // units remove by key: one new version, the older one unchanged
    const hello10 = views.find((u) => nevraOf(u['key'] as Record<string, unknown>) === 'tb-hello-1.0-1')!['key'];
    const removed = JSON.parse(await cli('--json', 'units', 'remove', 'dst', '--type', 'rpm.package', '--key', JSON.stringify(hello10))) as Record<string, unknown>;
    expect(removed).toMatchObject({ version: 2, newVersion: true, added: {}, removed: { 'rpm.package': 1 }, unmatched: 0 });
    expect(await nevras('dst')).toEqual(['tb-hello-1.1-1']);
    expect(await nevras('dst', 1)).toEqual(['tb-hello-1.0-1', 'tb-hello-1.1-1']);

    // keys and filters that match nothing are typed errors and commit nothing
    expect(await failure('units', 'remove', 'dst', '--type', 'rpm.package', '--key', JSON.stringify(hello10))).toMatchObject({
      code: 'TRIBUTARY_ERR_UNIT_NOT_FOUND',
      message: expect.stringContaining('tb-hello'),
    });
    expect(await failure('copy', 'src', 'dst', '--filter', 'name=nothing-like-it*')).toMatchObject({ code: 'TRIBUTARY_ERR_UNIT_NOT_FOUND', message: expect.stringContaining('name=nothing-like-it*') });
    expect(await failure('units', 'remove', 'dst', '--type', 'rpm.package', '--filter', 'arch=x86_64')).toMatchObject({ code: 'TRIBUTARY_ERR_UNIT_NOT_FOUND' });
    expect(await failure('units', 'add', 'dst', '--type', 'rpm.package', '--key', JSON.stringify({ ...(hello10 as object), version: '9.9' }))).toMatchObject({ code: 'TRIBUTARY_ERR_UNIT_NOT_FOUND' });
    const malformed = await failure('copy', 'src', 'dst', '--filter', 'name=tb-hello* and (arch=noarch');
    expect(malformed).toMatchObject({ code: 'TRIBUTARY_ERR_FILTER_INVALID', details: { position: 31, column: 32 } });
    expect(await failure('units', 'add', 'dst', '--type', 'rpm.package')).toMatchObject({ code: 'TRIBUTARY_ERR_USAGE' });
    expect(await latest('dst')).toBe(2);

    // units add by filter (from the catalog) and by file, each one version
    const added = JSON.parse(await cli('--json', 'units', 'add', 'dst', '--type', 'rpm.package', '--filter', 'name in (tb-tools, tb-base) or (name=tb-hello and version=1.0)')) as Record<string, unknown>;
    expect(added).toMatchObject({ version: 3, added: { 'rpm.package': 3 } });
    expect(await nevras('dst')).toEqual(['tb-base-1.0-1', 'tb-hello-1.0-1', 'tb-hello-1.1-1', 'tb-tools-2.0-3.fc40']);
    const keysFile = path.join(home, 'keys.jsonl');
    const keysOf = async (names: string[]) => (await packages('dst')).filter((u) => names.includes(String((u['key'] as Record<string, unknown>)['name']))).map((u) => JSON.stringify(u['key']));
    await writeFile(keysFile, `${(await keysOf(['tb-base', 'tb-tools'])).join('\n')}\n\n`);
    expect(JSON.parse(await cli('--json', 'units', 'remove', 'dst', '--type', 'rpm.package', '--from-file', keysFile))).toMatchObject({ version: 4, removed: { 'rpm.package': 2 } });
    expect(await nevras('dst')).toEqual(['tb-hello-1.0-1', 'tb-hello-1.1-1']);
    // adding what is there already commits nothing
    expect(JSON.parse(await cli('--json', 'copy', 'src', 'dst', '--filter', 'name=tb-hello*'))).toMatchObject({ version: 4, newVersion: false });

    // a copy from an older version of the repository itself brings units back
    expect(JSON.parse(await cli('--json', 'copy', 'dst', 'dst', '--version', '3', '--type', 'rpm.package', '--filter', 'name=tb-tools'))).toMatchObject({ version: 5, added: { 'rpm.package': 1 } });
    expect(lines(await cli('--json', 'versions', 'dst')).map((v) => [v['version'], v['kind']])).toEqual([
      [1, 'copy'],
      [2, 'modify'],
      [3, 'modify'],
      [4, 'modify'],
      [5, 'copy'],
    ]);
    // the source never changed
    expect(await latest('src')).toBe(1);
  });
});
