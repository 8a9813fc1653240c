import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { runCli } from '@tributary/core';
import { startFixtureServer, type FixtureServer } from '@tributary/conformance';
import { buildRpmRepo, queryRpms, type BuiltRpmRepo } from './fixtures/rpm/build-rpm-repo';
import { nevraOfKey } from './fixtures/rpm/rpm-sync-harness';
import { describeMongo, mongoUri, testDatabaseName } from './mongo-uri';

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

interface UnitLine {
  type: string;
  key: Record<string, string | number>;
  artifacts: { relativePath: string; sha256: string | null; stored: boolean }[];
}

describeMongo('CLI syncs with --store mongodb://', () => {
  let work: string;
  let store: string;
  let database: string;

  async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['--home', path.join(work, 'home'), '--store', store, ...argv], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      env: {},
      cwd: work,
    });
    return { code, stdout, stderr };
  }
  const units = async (repo: string): Promise<UnitLine[]> =>
    (await cli('--json', 'units', repo)).stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as UnitLine);

  beforeEach(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'tributary-mongo-cli-'));
    database = testDatabaseName('cli');
    const uri = new URL(mongoUri!);
    uri.pathname = `/${database}`;
    store = uri.toString();
  });
  afterEach(async () => {
    const client = await MongoClient.connect(mongoUri!);
    await client.db(database).dropDatabase().catch(() => undefined);
    await client.close();
    await rm(work, { recursive: true, force: true });
  });

  it('syncs a file repository in all three modes', async () => {
    const files: Record<string, string> = { 'a.txt': 'alpha\n', 'dir/b.txt': 'bravo\n', 'c, with comma.txt': 'charlie\n' };
    const manifest = (f: Record<string, string>) =>
      Object.entries(f)
        .map(([p, body]) => `${p},${sha256(body)},${Buffer.byteLength(body)}`)
        .join('\n') + '\n';
    const server: FixtureServer = await startFixtureServer({ files: { ...files, PULP_MANIFEST: manifest(files) } });
    try {
      const url = server.urlFor('PULP_MANIFEST');
      expect(await cli('sync', 'files', '--create', '--importer', 'file', '--url', url, '--policy', 'on_demand')).toMatchObject({ code: 0, stderr: '' });
      let got = await units('files');
      expect(got.map((u) => u.key.relativePath).sort()).toEqual(['a.txt', 'c, with comma.txt', 'dir/b.txt']);
      expect(got.every((u) => u.artifacts.every((a) => !a.stored))).toBe(true);

      expect((await cli('sync', 'files', '--policy', 'immediate', '--force')).code).toBe(0);
      got = await units('files');
      expect(got.every((u) => u.artifacts.every((a) => a.stored))).toBe(true);

      // upstream deletes a file and changes another; a mirror sync follows it
      const changed = { 'a.txt': 'alpha v2\n', 'dir/b.txt': 'bravo\n' };
      server.setFiles({ ...changed, PULP_MANIFEST: manifest(changed) });
      const mirror = await cli('--json', 'sync', 'files', '--mirror');
      expect(mirror.code).toBe(0);
      expect(JSON.parse(mirror.stdout).report).toMatchObject({ added: { file: 1 }, removed: { file: 2 } });
      got = await units('files');
      expect(got.map((u) => [u.key.relativePath, u.key.sha256])).toEqual(
        expect.arrayContaining([
          ['a.txt', sha256('alpha v2\n')],
          ['dir/b.txt', sha256('bravo\n')],
        ]),
      );
      expect(got).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  it('syncs an RPM repository and exports a tree equal to upstream', async () => {
    const upstream = path.join(work, 'upstream');
    const repo: BuiltRpmRepo = await buildRpmRepo(path.join(upstream, 'el'), { updateinfo: true });
    const server = await startFixtureServer({ root: upstream });
    try {
      const sync = await cli('sync', 'el', '--create', '--importer', 'rpm', '--url', server.urlFor('el/'));
      expect([sync.code, sync.stderr]).toEqual([0, '']);
      const got = await units('el');
      const packages = got.filter((u) => u.type === 'rpm.package');
      const truth = await queryRpms(repo.rpmFiles);
      expect(packages.map((p) => nevraOfKey(p.key)).sort()).toEqual(truth.map((t) => nevraOfKey({ ...t })).sort());
      expect(got.some((u) => u.type === 'rpm.advisory')).toBe(true);

      const out = path.join(work, 'export');
      expect((await cli('export', 'el', out)).code).toBe(0);
      for (const file of [...repo.rpmFiles, path.join(repo.dir, 'repodata', 'repomd.xml')]) {
        const relative = path.relative(repo.dir, file);
        expect([relative, sha256(await readFile(path.join(out, relative)))]).toEqual([relative, sha256(await readFile(file))]);
      }
    } finally {
      await server.close();
    }
  });
});
