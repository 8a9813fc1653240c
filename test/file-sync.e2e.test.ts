/**
 * End-to-end: the `tributary` CLI (in-process) syncing a PULP_MANIFEST file repository served by
 * the conformance kit's fixture server, in every mode, through every transport fault and bad
 * manifest of issue 3.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHost } from '@tributary/core';
import { fileImporter } from '@tributary/importer-file';
import { startFixtureServer, type FaultSpec, type FixtureServer } from '@tributary/conformance';
import { runCliIn } from './cli-process';

type Files = Record<string, Buffer>;

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** The upstream repository: the files plus a PULP_MANIFEST listing them. */
function upstream(files: Files, extraManifest = ''): Record<string, Buffer> {
  const lines = Object.entries(files).map(([name, body]) => `${name},${sha256(body)},${body.length}`);
  return { ...files, PULP_MANIFEST: Buffer.from(`# generated\n${lines.join('\n')}\n${extraManifest}`) };
}

const INITIAL: Files = {
  'a.txt': Buffer.from('alpha\n'),
  'dir/b.txt': Buffer.from('bravo\n'),
  'dir/sub/c d,e #1.txt': Buffer.from('charlie: spaces, a comma and a hash in the name\n'),
  'empty.bin': Buffer.alloc(0),
  'big.bin': randomBytes(300 * 1024),
};

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

describe('file repository sync through the CLI', () => {
  let home: string;
  let server: FixtureServer;
  let manifestUrl: string;

  const cli = (...argv: string[]): Promise<CliRun> => runCliIn(home, argv);

  async function sync(...flags: string[]): Promise<{ version: number; newVersion: boolean; finishedEarly?: string; report: { added: Record<string, number>; removed: Record<string, number> } }> {
    const run = await cli('--json', 'sync', 'repo', '--create', '--importer', 'file', '--url', manifestUrl, ...flags);
    if (run.code !== 0) throw new Error(`sync failed (${run.code}): ${run.stderr}`);
    return JSON.parse(run.stdout);
  }

  async function failingSync(...flags: string[]): Promise<{ code: string; causeCode: string; message: string }> {
    const run = await cli('--json', 'sync', 'repo', '--importer', 'file', '--url', manifestUrl, ...flags);
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stderr.trim());
    return { code: error.code, causeCode: error.details.causeCode, message: error.message };
  }

  /** The latest version's units, sorted, as `units --json` prints them. */
  async function units(): Promise<Array<{ relativePath: string; sha256: string; size: number; stored: boolean }>> {
    const run = await cli('--json', 'units', 'repo');
    expect(run.code).toBe(0);
    return run.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .map((u) => ({ relativePath: u.key.relativePath, sha256: u.key.sha256, size: u.metadata.size, stored: u.artifacts[0].stored }))
      .sort((x, y) => (x.relativePath + x.sha256).localeCompare(y.relativePath + y.sha256));
  }

  const expectedUnits = (files: Files, stored: boolean) =>
    Object.entries(files)
      .map(([relativePath, body]) => ({ relativePath, sha256: sha256(body), size: body.length, stored }))
      .sort((x, y) => (x.relativePath + x.sha256).localeCompare(y.relativePath + y.sha256));

  /** Everything left under the storage root's tmp/, and downloads staged in artifacts/ but never stored (should be nothing between syncs). */
  function tempLeftovers(): string[] {
    const list = (dir: string) => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : []);
    return [...list(path.join(home, 'storage', 'tmp')), ...list(path.join(home, 'storage', 'artifacts')).filter((name) => name.endsWith('.part'))];
  }

  const fileRequests = () => server.requests.filter((r) => !r.path.endsWith('/PULP_MANIFEST'));

  beforeEach(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'file-sync-e2e-'));
    server = await startFixtureServer({ files: upstream(INITIAL) });
    manifestUrl = server.urlFor('PULP_MANIFEST');
  });
  afterEach(async () => {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('immediate: stores every file, and export reproduces them byte for byte', async () => {
    const outcome = await sync('--policy', 'immediate');
    expect(outcome.version).toBe(1);
    expect(outcome.report.added).toEqual({ file: 5 });
    expect(fileRequests().map((r) => decodeURIComponent(r.path.slice(1))).sort()).toEqual(Object.keys(INITIAL).sort());
    expect(await units()).toEqual(expectedUnits(INITIAL, true));

    const out = path.join(home, 'export');
    expect((await cli('export', 'repo', out, '--no-fetch')).code).toBe(0);
    for (const [name, body] of Object.entries(INITIAL)) expect(sha256(readFileSync(path.join(out, name)))).toBe(sha256(body));
    expect(tempLeftovers()).toEqual([]);
  });

  it('on_demand: downloads nothing but the manifest, and export fetches the files when asked', async () => {
    const outcome = await sync('--policy', 'on_demand');
    expect(outcome.report.added).toEqual({ file: 5 });
    expect(fileRequests()).toEqual([]);
    expect(await units()).toEqual(expectedUnits(INITIAL, false));

    const out = path.join(home, 'export');
    expect((await cli('export', 'repo', out)).code).toBe(0);
    for (const [name, body] of Object.entries(INITIAL)) expect(readFileSync(path.join(out, name)).equals(body)).toBe(true);
    expect(fileRequests().length).toBeGreaterThanOrEqual(5);
  });

  it.each(['immediate', 'on_demand'])('mirror (%s): removes what upstream deleted or changed; a plain sync only adds', async (policy) => {
    await sync('--policy', policy);
    const changed: Files = { ...INITIAL, 'dir/b.txt': Buffer.from('bravo, second edition\n'), 'new.txt': Buffer.from('new\n') };
    delete changed['a.txt'];
    server.setFiles(upstream(changed));

    const additive = await sync('--policy', policy);
    expect(additive.report.added).toEqual({ file: 2 });
    expect(additive.report.removed).toEqual({});
    expect((await units()).map((u) => u.relativePath)).toEqual(['a.txt', 'big.bin', 'dir/b.txt', 'dir/b.txt', 'dir/sub/c d,e #1.txt', 'empty.bin', 'new.txt']);

    const mirrored = await sync('--policy', policy, '--mirror');
    expect(mirrored.report.added).toEqual({});
    expect(mirrored.report.removed).toEqual({ file: 2 });
    // the lines the plain sync met are kept as stored (mirroring changes no row); the mirror removes the rest
    expect(JSON.stringify(mirrored.report)).toContain('lists 5 files, 5 of them as the last sync stored them');
    expect(await units()).toEqual(expectedUnits(changed, policy === 'immediate'));
    expect(tempLeftovers()).toEqual([]);
  });

  it('an unchanged manifest finishes early; --force compares everything and changes nothing', async () => {
    await sync('--policy', 'immediate');
    const before = await units();
    server.clearRequests();

    const early = await sync('--policy', 'immediate');
    expect(early.finishedEarly).toBe('PULP_MANIFEST unchanged since the last sync');
    expect(early.version).toBe(1);
    expect(server.requests.map((r) => r.path)).toEqual(['/PULP_MANIFEST']);

    const forced = await sync('--policy', 'immediate', '--force');
    expect(forced.finishedEarly).toBeUndefined();
    expect(forced.newVersion).toBe(false);
    expect(forced.report.added).toEqual({});
    expect(forced.report.removed).toEqual({});
    expect(fileRequests()).toEqual([]);
    expect(await units()).toEqual(before);
    // every line was met before under the same settings: kept as stored, none parsed or built again
    expect(JSON.stringify(forced.report)).toContain('lists 5 files, 5 of them as the last sync stored them');

    const history = JSON.parse(`[${(await cli('--json', 'history', 'repo')).stdout.trim().split('\n').join(',')}]`);
    expect(history.map((h: { report?: { finishedEarly?: string } }) => h.report?.finishedEarly ?? null)).toEqual([
      null,
      'PULP_MANIFEST unchanged since the last sync',
      null,
    ]);
  });

  describe('a failed sync leaves the previous version untouched and no temp files, and the next good sync succeeds', () => {
    const NEW = randomBytes(64 * 1024);
    const NEXT: Files = { ...INITIAL, 'new.bin': NEW };

    const faults: Array<[string, string, FaultSpec, string, number | null]> = [
      ['manifest 404', 'PULP_MANIFEST', { status: 404 }, 'TRIBUTARY_ERR_HTTP_STATUS', 1],
      ['manifest 500 (retried, then failing)', 'PULP_MANIFEST', { status: 500 }, 'TRIBUTARY_ERR_HTTP_STATUS', 2],
      ['file 500 (retried, then failing)', 'new.bin', { status: 503 }, 'TRIBUTARY_ERR_HTTP_STATUS', 2],
      ['connection reset mid-body', 'new.bin', { resetAfterBytes: 1000 }, 'TRIBUTARY_ERR_NETWORK', 2],
      ['truncated body', 'new.bin', { truncateTo: 5000 }, 'TRIBUTARY_ERR_NETWORK', 2],
      ['body longer than the declared size', 'new.bin', { body: Buffer.concat([NEW, Buffer.from('tail')]) }, 'TRIBUTARY_ERR_SIZE_MISMATCH', null],
      ['body shorter than the declared size', 'new.bin', { body: NEW.subarray(0, NEW.length - 10) }, 'TRIBUTARY_ERR_SIZE_MISMATCH', null],
      ['digest mismatch', 'new.bin', { body: Buffer.from(NEW).fill(0, 0, 10) }, 'TRIBUTARY_ERR_DIGEST_MISMATCH', null],
    ];

    it.each(faults)('%s', async (_name, target, fault, causeCode, minRequests) => {
      await sync('--policy', 'immediate');
      const before = await units();
      server.setFiles(upstream(NEXT));
      server.fault(target, fault);
      server.clearRequests();

      const failure = await failingSync('--policy', 'immediate');
      expect(failure).toMatchObject({ code: 'TRIBUTARY_ERR_SYNC_FAILED', causeCode });
      expect(failure.message).toContain("'repo'");
      if (minRequests !== null) expect(server.requests.filter((r) => r.path === `/${target}`).length).toBeGreaterThanOrEqual(minRequests);
      expect(await units()).toEqual(before);
      expect(tempLeftovers()).toEqual([]);

      server.clearFaults();
      const next = await sync('--policy', 'immediate');
      expect(next.version).toBe(2);
      expect(await units()).toEqual(expectedUnits(NEXT, true));
    });

    it('a 500 that clears up within the retries does not fail the sync', async () => {
      server.setFiles(upstream(NEXT));
      server.fault('new.bin', { status: 500, times: 2 });
      const outcome = await sync('--policy', 'immediate');
      expect(outcome.report.added).toEqual({ file: 6 });
      expect(server.requests.filter((r) => r.path === '/new.bin')).toHaveLength(3);
    });

    // The CLI has no timeout flags, and the default timeouts are a minute: the host API sets short ones.
    it.each([
      ['the manifest stalls before answering', 'PULP_MANIFEST', { stall: true }],
      ['a file stalls before answering', 'new.bin', { stall: true }],
      ['a file stalls mid-body', 'new.bin', { stallAfterBytes: 4096 }],
    ] as Array<[string, string, FaultSpec]>)('%s: typed timeout', async (_name, target, fault) => {
      await sync('--policy', 'immediate');
      const before = await units();
      server.setFiles(upstream(NEXT));
      server.fault(target, fault);

      const host = await createHost({ storageRoot: path.join(home, 'storage'), store: { sqlite: path.join(home, 'catalog.db') }, plugins: [fileImporter] });
      try {
        const failure = await host
          .sync('repo', { importer: 'file', url: manifestUrl, policy: 'immediate', remote: { headersTimeoutMs: 300, idleTimeoutMs: 300, retries: 1, backoffMs: 10 } })
          .then(() => undefined, (error: unknown) => error);
        expect(failure).toMatchObject({ code: 'TRIBUTARY_ERR_SYNC_FAILED', details: { causeCode: 'TRIBUTARY_ERR_TIMEOUT' } });
      } finally {
        await host.close();
      }
      expect(await units()).toEqual(before);
      expect(tempLeftovers()).toEqual([]);

      server.clearFaults();
      expect((await sync('--policy', 'immediate')).version).toBe(2);
      expect(await units()).toEqual(expectedUnits(NEXT, true));
    });

    const badManifests: Array<[string, string | Buffer, string, RegExp]> = [
      ['wrong column count', 'orphan-line-without-columns\n', 'TRIBUTARY_ERR_MANIFEST_INVALID', /line \d+: expected 3 comma-separated columns/],
      ['bad digest', `x.txt,${'z'.repeat(64)},3\n`, 'TRIBUTARY_ERR_MANIFEST_INVALID', /not hex digits/],
      ['negative size', `x.txt,${'a'.repeat(64)},-3\n`, 'TRIBUTARY_ERR_MANIFEST_INVALID', /negative/],
      ["'..' segment", `../x.txt,${'a'.repeat(64)},3\n`, 'TRIBUTARY_ERR_MANIFEST_INVALID', /'\.\.' segment/],
      ['absolute path', `/etc/x.txt,${'a'.repeat(64)},3\n`, 'TRIBUTARY_ERR_MANIFEST_INVALID', /absolute/],
      ['same path, different digest', `a.txt,${'a'.repeat(64)},6\n`, 'TRIBUTARY_ERR_MANIFEST_INVALID', /listed again/],
      ['non-UTF-8', Buffer.from([0x78, 0xff, 0x2c, 0x0a]), 'TRIBUTARY_ERR_ENCODING_INVALID', /not valid UTF-8/],
    ];

    it.each(badManifests)('bad manifest: %s, after good lines', async (_name, badLine, causeCode, problem) => {
      await sync('--policy', 'immediate');
      const before = await units();
      const good = upstream(NEXT);
      server.setFiles({ ...good, PULP_MANIFEST: Buffer.concat([good['PULP_MANIFEST'] as Buffer, Buffer.from(badLine)]) });

      const failure = await failingSync('--policy', 'immediate');
      expect(failure.causeCode).toBe(causeCode);
      expect(failure.message).toMatch(problem);
      expect(failure.message).toMatch(/PULP_MANIFEST line 8/);
      expect(await units()).toEqual(before);
      expect(tempLeftovers()).toEqual([]);

      server.setFiles(good);
      expect((await sync('--policy', 'immediate')).version).toBe(2);
      expect(await units()).toEqual(expectedUnits(NEXT, true));
    });
  });
});
