/**
 * Two `tributary serve` processes sharing one MongoDB catalog and one storage root serve the same
 * distribution: an on_demand artifact fetched through one is served by the other from storage,
 * without another upstream request.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { cliBuilt, spawnCli, type CliProcessResult } from './cli-process';
import { describeMongo, mongoUri, testDatabaseName } from './mongo-uri';
import { manifestLines, patternBytes, request, sortedManifest, sha256Hex, startUpstream, waitFor, withManifest, type Files, type Upstream } from './fixtures/serve/serve-harness';

const FILES: Files = {
  'one.bin': patternBytes(700 * 1024 + 1, 51),
  'two.txt': Buffer.from('two\n'.repeat(100)),
  'dir/three.bin': patternBytes(2 * 1024 * 1024, 52),
};

interface Server {
  readonly origin: string;
  readonly stdout: () => string;
  stop(): Promise<CliProcessResult>;
}

describeMongo('two serve processes on one MongoDB', () => {
  let home: string;
  let database: string;
  let store: string;
  let upstream: Upstream;
  const servers: Server[] = [];

  const cli = (argv: string[]) => spawnCli(['--home', home, '--store', store, ...argv]).done;

  async function startServe(): Promise<Server> {
    const { child, done } = spawnCli(['--home', home, '--store', store, '--json', 'serve', '--listen', '127.0.0.1:0']);
    let stderr = '';
    let stdout = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    let origin = '';
    const exited = done.then((r) => {
      throw new Error(`serve exited early (${r.code}): ${r.stderr}`);
    });
    exited.catch(() => undefined);
    await Promise.race([
      waitFor(() => {
        const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)\/content\/"/.exec(stderr);
        if (match) origin = match[1]!;
        return match !== null;
      }, 'serve to announce its address'),
      exited,
    ]);
    const server: Server = {
      origin,
      stdout: () => stdout,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        return done;
      },
    };
    servers.push(server);
    return server;
  }

  const accessOf = (server: Server, p: string) =>
    server
      .stdout()
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; path: string; status: number; served?: string })
      .filter((r) => r.type === 'access' && r.path === p)
      .map((r) => `${r.status} ${r.served ?? '-'}`);

  beforeAll(async () => {
    if (!cliBuilt()) throw new Error('the CLI is not built: run `npx tsc -b` (npm test does) before this suite');
    home = mkdtempSync(path.join(os.tmpdir(), 'serve-mongo-'));
    database = testDatabaseName('serve');
    const uri = new URL(mongoUri!);
    uri.pathname = `/${database}`;
    store = uri.toString();
    upstream = await startUpstream(withManifest(FILES));
    const sync = await cli(['sync', 'repo', '--create', '--importer', 'file', '--url', upstream.urlFor('PULP_MANIFEST'), '--policy', 'on_demand']);
    expect([sync.code, sync.stderr]).toEqual([0, '']);
    const dist = await cli(['distribution', 'create', 'dist', '--repository', 'repo', '--base-path', 'shared/repo']);
    expect([dist.code, dist.stderr]).toEqual([0, '']);
  });
  afterAll(async () => {
    for (const server of servers) await server.stop().catch(() => undefined);
    await upstream?.close();
    const client = await MongoClient.connect(mongoUri!);
    await client.db(database).dropDatabase().catch(() => undefined);
    await client.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('an artifact fetched on demand through one process is served by the other without an upstream request', async () => {
    const [first, second] = await Promise.all([startServe(), startServe()]);
    expect(first!.origin).not.toBe(second!.origin);
    // both serve the distribution's manifest, asked at once (each may publish the version)
    const manifests = await Promise.all([first!, second!].map((server) => request(`${server.origin}/content/shared/repo/PULP_MANIFEST`)));
    expect(manifests.map((m) => m.status)).toEqual([200, 200]);
    expect(manifests[0]!.body.equals(manifests[1]!.body)).toBe(true);
    expect(sortedManifest(manifests[0]!.body)).toEqual(manifestLines(FILES).sort());
    for (const [name, body] of Object.entries(FILES)) {
      // fetched through the first …
      const a = await request(`${first!.origin}/content/shared/repo/${name}`);
      expect({ name, status: a.status, complete: a.complete, sha: sha256Hex(a.body) }).toEqual({ name, status: 200, complete: true, sha: sha256Hex(body) });
      expect(upstream.count(name)).toBe(1);
      // … then served by the second from the shared storage
      const b = await request(`${second!.origin}/content/shared/repo/${name}`);
      expect({ name, status: b.status, complete: b.complete, sha: sha256Hex(b.body) }).toEqual({ name, status: 200, complete: true, sha: sha256Hex(body) });
      expect(b.headers['last-modified']).toBeDefined();
      expect(upstream.count(name)).toBe(1);
      // the access line reaches us through a pipe, a little after the response
      await waitFor(() => accessOf(second!, `/content/shared/repo/${name}`).length > 0, 'the access log line');
      expect(accessOf(second!, `/content/shared/repo/${name}`)).toEqual(['200 stored']);
    }
    // the other way round is the same: a new version's file fetched through the second first
    const extra = patternBytes(300 * 1024, 53);
    upstream.setFiles(withManifest({ ...FILES, 'extra.bin': extra }));
    const sync = await cli(['sync', 'repo', '--policy', 'on_demand']);
    expect([sync.code, sync.stderr]).toEqual([0, '']);
    for (const server of [second!, first!]) {
      await waitFor(async () => (await request(`${server.origin}/content/shared/repo/extra.bin`, { method: 'HEAD' })).status === 200, 'version 2 to be served');
    }
    const viaSecond = await request(`${second!.origin}/content/shared/repo/extra.bin`);
    expect(viaSecond.body.equals(extra)).toBe(true);
    const viaFirst = await request(`${first!.origin}/content/shared/repo/extra.bin`);
    expect(viaFirst.body.equals(extra)).toBe(true);
    expect(upstream.count('extra.bin')).toBe(1);

    for (const server of [first!, second!]) {
      const exit = await server.stop();
      expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    }
  });
});
