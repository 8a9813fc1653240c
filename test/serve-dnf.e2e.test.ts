/**
 * End-to-end, as a mirror operator does it: sync a real createrepo_c repository on_demand, create
 * a distribution, run `tributary serve`, and let dnf install from it; then stop upstream and
 * install again in a fresh installroot from what the first install made Tributary store.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startFixtureServer, type FixtureServer } from '@tributary/conformance';
import { buildRpmRepo, type BuiltRpmRepo } from './fixtures/rpm/build-rpm-repo.js';
import { cliBuilt, runCliIn, spawnCli } from './cli-process.js';

const run = promisify(execFile);
const describeBuilt = cliBuilt() ? describe : describe.skip;

describeBuilt('dnf installs from tributary serve', () => {
  let work: string;
  let home: string;
  let repo: BuiltRpmRepo;
  let upstream: FixtureServer;
  let serve: ReturnType<typeof spawnCli>;
  let served: string;
  const accessLog: string[] = [];

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'tributary-serve-dnf-'));
    home = path.join(work, 'home');
    repo = await buildRpmRepo(path.join(work, 'upstream', 'repo'), { updateinfo: true });
    upstream = await startFixtureServer({ root: path.join(work, 'upstream') });
    const sync = await runCliIn(home, ['sync', 'el', '--create', '--importer', 'rpm', '--url', upstream.urlFor('repo/'), '--policy', 'on_demand']);
    expect(sync).toMatchObject({ code: 0 });
    expect(await runCliIn(home, ['distribution', 'create', 'el', '--repository', 'el', '--base-path', 'el/9'])).toMatchObject({ code: 0 });
    serve = spawnCli(['--home', home, '--json', 'serve', '--listen', '127.0.0.1:0']);
    serve.child.stdout!.on('data', (d: Buffer) => accessLog.push(d.toString()));
    served = await new Promise<string>((resolve, reject) => {
      let text = '';
      serve.child.stderr!.on('data', (d: Buffer) => {
        text += d.toString();
        const url = /"url":"([^"]+)"/.exec(text)?.[1];
        if (url) resolve(url);
      });
      void serve.done.then((r) => reject(new Error(`serve exited early: ${r.stderr}`)));
    });
  });

  afterAll(async () => {
    serve?.child.kill('SIGTERM');
    await serve?.done;
    await upstream?.close().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  });

  async function dnfInstall(root: string, cache: string): Promise<string[]> {
    await run('dnf', [
      '-y', '-q',
      `--installroot=${root}`,
      '--releasever=1',
      '--setopt=reposdir=/dev/null',
      `--setopt=cachedir=${cache}`,
      `--repofrompath=tributary,${served}el/9/`,
      '--repo=tributary',
      '--nogpgcheck',
      'install', 'tb-tools',
    ]);
    const { stdout } = await run('rpm', ['--root', root, '-qa', '--qf', '%{NAME}-%{VERSION}-%{RELEASE}\\n']);
    return stdout.trim().split('\n').sort();
  }

  test('a package and its dependencies, fetched on demand; again with upstream stopped', async () => {
    const expected = ['tb-base-1.0-1', 'tb-hello-1.1-1', 'tb-tools-2.0-3.fc40'];
    expect(await dnfInstall(path.join(work, 'root1'), path.join(work, 'cache1'))).toEqual(expected);
    expect(await readFile(path.join(work, 'root1', 'usr/share/tb-hello/hello.txt'), 'utf8')).toBe('hello 1.1\n');
    const fetchedRpms = upstream.requests.filter((r) => r.path.endsWith('.rpm')).map((r) => r.path);
    expect(fetchedRpms.sort()).toEqual(['/repo/Packages/t/tb-base-1.0-1.noarch.rpm', '/repo/Packages/t/tb-hello-1.1-1.noarch.rpm', '/repo/Packages/t/tb-tools-2.0-3.fc40.noarch.rpm'].sort());

    await upstream.close();
    expect(await dnfInstall(path.join(work, 'root2'), path.join(work, 'cache2'))).toEqual(expected);

    const log = accessLines(accessLog).filter((l) => l.path.endsWith('.rpm'));
    expect(log.filter((l) => l.served === 'on-demand')).toHaveLength(3);
    expect(log.filter((l) => l.served === 'stored').length).toBeGreaterThanOrEqual(3);
    expect(log.every((l) => l.status === 200)).toBe(true);
    void repo;
  });
});

interface AccessLine {
  readonly path: string;
  readonly status: number;
  readonly served?: string;
}

/** The access log's lines (JSON lines on stdout) written so far; each is written before its response ends. */
function accessLines(chunks: readonly string[]): AccessLine[] {
  return chunks
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as AccessLine & { type: string })
    .filter((l) => l.type === 'access');
}

describeBuilt("publishing with upstream's repodata (repodata=upstream)", () => {
  test("a version whose packages differ from what upstream's primary lists is refused, naming why", async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'tributary-publish-mismatch-'));
    await buildRpmRepo(path.join(work, 'upstream', 'full'), { updateinfo: true });
    await buildRpmRepo(path.join(work, 'upstream', 'fewer'), { updateinfo: true, exclude: ['tb-extras-0.9-2.noarch.rpm'] });
    const upstream = await startFixtureServer({ root: path.join(work, 'upstream') });
    try {
      const home = path.join(work, 'home');
      for (const [repo, mirror] of [['additive', false], ['mirrored', true]] as const) {
        expect(await runCliIn(home, ['sync', repo, '--create', '--importer', 'rpm', '--url', upstream.urlFor('full/'), '--policy', 'on_demand'])).toMatchObject({ code: 0 });
        const second = ['sync', repo, '--url', upstream.urlFor('fewer/'), ...(mirror ? ['--mirror'] : [])];
        expect(await runCliIn(home, second)).toMatchObject({ code: 0 });
      }
      // additive: tb-extras is kept, but the new primary no longer lists it
      // upstream's repodata on request (the default, auto, would generate it: see rpm-publish-generated.e2e)
      const refused = await runCliIn(home, ['--json', 'publish', 'additive', '--option', 'repodata=upstream']);
      expect(refused.code).toBe(1);
      const error = JSON.parse(refused.stderr) as { error: { code: string; message: string } };
      expect(error.error.code).toBe('TRIBUTARY_ERR_PUBLICATION_MISMATCH');
      expect(error.error.message).toMatch(/version 2 of repository 'additive' .*holds 5 packages and upstream's primary lists 4/);
      // version 1 still publishes: it holds what its repodata lists
      expect(await runCliIn(home, ['publish', 'additive', '--version', '1'])).toMatchObject({ code: 0 });
      const published = await runCliIn(home, ['--json', 'publish', 'mirrored']);
      expect(published.code).toBe(0);
      expect(JSON.parse(published.stdout)).toMatchObject({ version: 2, publisher: 'rpm', summary: { info: { repodata: 'upstream', packages: 4 } } });
    } finally {
      await upstream.close();
      await rm(work, { recursive: true, force: true });
    }
  });
});
