import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { startFixtureServer, type FixtureServer } from '@tributary/conformance';
import { MongoContentStore } from '@tributary/core';
import { cliBuilt, spawnCli } from './cli-process';
import { describeMongo, mongoUri, testDatabaseName } from './mongo-uri';

function fileRepo(prefix: string, count: number, shared: number): Record<string, string> {
  const files: Record<string, string> = {};
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    // the first `shared` files have identical paths and bytes in every repository
    const name = i < shared ? `shared/file-${i}.txt` : `${prefix}/file-${i}.txt`;
    const body = i < shared ? `shared content ${i}\n`.repeat(20) : `${prefix} content ${i}\n`.repeat(20);
    files[name] = body;
    lines.push(`${name},${createHash('sha256').update(body).digest('hex')},${Buffer.byteLength(body)}`);
  }
  files.PULP_MANIFEST = `${lines.join('\n')}\n`;
  return files;
}

/**
 * The lease of the host killed below: short enough that the test waits little for it to expire
 * (20 s at most), long enough that on a busy machine the host renews it (every third of it) while
 * it works, and that the test, right after the kill, surely finds it still live: between the last
 * renewal and that check lie a kill, an exit and a store round trip, never 13 s.
 */
const LEASE_TTL_MS = 20_000;
/** Each of these tests runs several host processes one after another: room for a slow, busy machine. */
const E2E_TIMEOUT_MS = 240_000;

const unitsOf = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { key: { relativePath: string }; artifacts: { stored: boolean }[] });

describeMongo('several hosts sharing one MongoDB', () => {
  let home1: string;
  let home2: string;
  let database: string;
  let store: string;
  let serverA: FixtureServer;
  let serverB: FixtureServer;

  beforeAll(() => {
    if (!cliBuilt()) throw new Error('the CLI is not built: run `npx tsc -b` (npm test does) before this suite');
  });
  beforeEach(async () => {
    home1 = await mkdtemp(path.join(tmpdir(), 'tributary-host1-'));
    home2 = await mkdtemp(path.join(tmpdir(), 'tributary-host2-'));
    database = testDatabaseName('hosts');
    const uri = new URL(mongoUri!);
    uri.pathname = `/${database}`;
    store = uri.toString();
    serverA = await startFixtureServer({ files: fileRepo('a', 120, 60) });
    serverB = await startFixtureServer({ files: fileRepo('b', 120, 60) });
  });
  afterEach(async () => {
    await serverA.close();
    await serverB.close();
    const client = await MongoClient.connect(mongoUri!);
    await client.db(database).dropDatabase().catch(() => undefined);
    await client.close();
    await rm(home1, { recursive: true, force: true });
    await rm(home2, { recursive: true, force: true });
  });

  // no progress lines on stderr, which a sync prints every few seconds once it runs that long (on
  // a busy machine, any of these): the tests expect a sync's stderr to be empty
  const cli = (home: string, argv: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnCli(['--home', home, '--store', store, ...argv], { TRIBUTARY_PROGRESS_SECONDS: '0', ...env });

  it('two host processes sync two repositories with overlapping content at once; shared units and artifacts are stored once', async () => {
    // Two hosts with separate storage roots would each keep bytes; here they share one storage root, as hosts sharing a filesystem do.
    const [a, b] = await Promise.all([
      cli(home1, ['sync', 'repo-a', '--create', '--importer', 'file', '--url', serverA.urlFor('PULP_MANIFEST')]).done,
      cli(home1, ['sync', 'repo-b', '--create', '--importer', 'file', '--url', serverB.urlFor('PULP_MANIFEST')]).done,
    ]);
    expect([a.code, a.stderr]).toEqual([0, '']);
    expect([b.code, b.stderr]).toEqual([0, '']);
    const unitsA = unitsOf((await cli(home1, ['--json', 'units', 'repo-a']).done).stdout);
    const unitsB = unitsOf((await cli(home2, ['--json', 'units', 'repo-b']).done).stdout);
    expect(unitsA).toHaveLength(120);
    expect(unitsB).toHaveLength(120);

    const client = await MongoClient.connect(mongoUri!);
    try {
      const db = client.db(database);
      // 60 shared + 60 + 60 distinct
      expect(await db.collection('units').countDocuments()).toBe(180);
      expect(await db.collection('artifacts').countDocuments()).toBe(180);
    } finally {
      await client.close();
    }
  }, E2E_TIMEOUT_MS);

  it('two host processes syncing the same repository: one gets the lease, the other a clear busy error', async () => {
    // the first host's downloads are held until the second host has tried, however long that takes
    serverA.fault('a/*', { delayMs: 600_000 });
    const first = cli(home1, ['sync', 'same', '--create', '--importer', 'file', '--url', serverA.urlFor('PULP_MANIFEST')]);
    await waitFor(() => serverA.requests.some((r) => r.path.includes('/a/')));
    const second = await cli(home2, ['sync', 'same', '--importer', 'file', '--url', serverA.urlFor('PULP_MANIFEST')]).done;
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^error TRIBUTARY_ERR_REPO_BUSY: repository 'same' is being synced by another process/);
    serverA.clearFaults(); // lets the held downloads go on
    const winner = await first.done;
    expect([winner.code, winner.stderr]).toEqual([0, '']);
    expect(unitsOf((await cli(home2, ['--json', 'units', 'same']).done).stdout)).toHaveLength(120);
  }, E2E_TIMEOUT_MS);

  it("a host killed mid-sync: its lease outlives it until it expires, then the next sync rolls back its half-written version", async () => {
    const env = { TRIBUTARY_LEASE_TTL_MS: String(LEASE_TTL_MS) };
    const big = await startFixtureServer({ files: fileRepo('k', 1100, 0) });
    const client = await MongoClient.connect(mongoUri!);
    // the store the hosts share, read and written here as another host would
    const store = new MongoContentStore(mongoUri!, { client, database });
    try {
      // files 1000-1099 are held, so a first batch of 1000 units is saved and associated into version 1 before the kill
      big.fault('k/file-10??.txt', { delayMs: 600_000 });
      const doomed = cli(home1, ['sync', 'crashy', '--create', '--importer', 'file', '--url', big.urlFor('PULP_MANIFEST')], env);
      const content = client.db(database).collection('repository_content');
      await waitForAsync(async () => (await content.countDocuments()) >= 1000);
      await store.init();
      const repo = (await store.getRepository('crashy'))!;
      const lease = (await store.getLease(repo.id))!;
      doomed.child.kill('SIGKILL');
      expect((await doomed.done).signal).toBe('SIGKILL');

      // its lease is still live for a moment (it was renewed a third of its time to live ago at
      // most): another host cannot take it
      expect(await store.acquireLease(repo.id, 'another-host', LEASE_TTL_MS)).toBe(false);
      expect(await store.getLease(repo.id)).toMatchObject({ holder: lease.holder });

      // its half-written version 1 is invisible: readers still see version 0
      const during = await cli(home2, ['--json', 'repo', 'show', 'crashy']).done;
      expect(JSON.parse(during.stdout)).toMatchObject({ latestVersion: 0, units: {} });

      // nobody renews the lease: it expires
      await waitForAsync(async () => ((await store.getLease(repo.id))?.expiresAt ?? 0) <= Date.now());
      big.clearFaults();
      const next = await cli(home2, ['--json', 'sync', 'crashy', '--importer', 'file', '--url', big.urlFor('PULP_MANIFEST')], env).done;
      expect([next.code, next.stderr]).toEqual([0, '']);
      const outcome = JSON.parse(next.stdout) as { version: number; report: { added: Record<string, number> } };
      // version 1 is this sync's: the crashed writer's rows were rolled back before it began
      expect(outcome.version).toBe(1);
      expect(outcome.report.added).toEqual({ file: 1100 });
      const units = unitsOf((await cli(home2, ['--json', 'units', 'crashy']).done).stdout);
      expect(units).toHaveLength(1100);
      expect(units.every((u) => u.artifacts.every((a) => a.stored))).toBe(true);
      // history tells the truth: the killed sync is closed as abandoned
      const history = (await cli(home2, ['--json', 'history', 'crashy']).done).stdout.trim().split('\n').map((l) => JSON.parse(l) as { status: string; error?: { message: string } });
      expect(history.map((h) => h.status)).toEqual(['succeeded', 'failed']);
      expect(history[1]!.error!.message).toMatch(/^abandoned: /);
    } finally {
      await store.close();
      await client.close();
      await big.close();
    }
  }, E2E_TIMEOUT_MS);
});

/** Polls `condition` every 50 ms until it holds; the deadline only stops a test whose state never comes. */
async function waitForAsync(condition: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the condition');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls `condition` every 20 ms until it holds, for at most `timeoutMs`. */
async function waitFor(condition: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the condition');
    await new Promise((r) => setTimeout(r, 20));
  }
}
