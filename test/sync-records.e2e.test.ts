/**
 * End-to-end: what the catalog remembers of a sync and what its report says. Reports tell only
 * what was committed; settings are remembered only when a sync succeeds, never with credentials;
 * an early finish compares with the sync that produced the latest version and nothing older.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createHost } from '@tributary/core';
import { fileImporter } from '@tributary/importer-file';
import { runCliIn, unitRelativePaths } from './cli-process';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Upstream trees by their first path segment: `/a/…` and `/b/…` are two repositories. */
const trees: Record<string, Map<string, Buffer>> = {
  a: new Map(Array.from({ length: 12 }, (_, i) => [`a${i}.txt`, Buffer.from(`alpha ${i}\n`)] as const)),
  b: new Map(Array.from({ length: 7 }, (_, i) => [`b${i}.txt`, Buffer.from(`bravo ${i}\n`)] as const)),
  slow: new Map(Array.from({ length: 400 }, (_, i) => [`s${i}.txt`, Buffer.from(`slow ${i}\n`)] as const)),
};

/** Files of the `slow` tree answered at once; the requests after them are held until {@link releaseSlow}. */
const SLOW_ANSWERED = 100;
let slowRequests = 0;
let releaseSlow!: () => void;
const slowReleased = new Promise<void>((resolve) => (releaseSlow = resolve));

describe('sync records and reports', () => {
  let home: string;
  let server: Server;
  let base: string;
  const authorizations: string[] = [];

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'tributary-records-'));
    server = createServer((request, response) => {
      authorizations.push(request.headers.authorization ?? '');
      const [tree, ...rest] = decodeURIComponent(new URL(request.url!, 'http://x').pathname.slice(1)).split('/');
      const files = trees[tree!];
      const name = rest.join('/');
      const body =
        files === undefined ? undefined : name === 'PULP_MANIFEST' ? Buffer.from([...files].map(([n, b]) => `${n},${sha256(b)},${b.length}\n`).join('')) : files.get(name);
      if (body === undefined) {
        response.writeHead(404).end();
        return;
      }
      const answer = () => {
        if (!response.destroyed) response.writeHead(200, { 'content-length': body.length }).end(body);
      };
      if (tree === 'slow' && name !== 'PULP_MANIFEST' && ++slowRequests > SLOW_ANSWERED) void slowReleased.then(answer);
      else answer();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    releaseSlow();
    await new Promise((resolve) => server.close(resolve));
    rmSync(home, { recursive: true, force: true });
  });

  const cli = (...argv: string[]) => runCliIn(home, argv);

  async function sync(repo: string, ...flags: string[]) {
    const run = await cli('--json', 'sync', repo, '--create', '--importer', 'file', ...flags);
    if (run.code !== 0) throw new Error(`sync failed (${run.code}): ${run.stderr}`);
    return JSON.parse(run.stdout) as { version: number; finishedEarly?: string; report: { added: Record<string, number>; removed: Record<string, number> } };
  }

  async function history(repo: string) {
    const run = await cli('--json', 'history', repo);
    expect(run.code).toBe(0);
    return run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { status: string; report: { added: Record<string, number>; removed: Record<string, number>; finishedEarly?: string } | null });
  }

  it('an early-finished mirror sync records nothing as removed', async () => {
    await sync('early', '--url', `${base}/a/PULP_MANIFEST`, '--mirror', '--policy', 'on_demand');
    const again = await sync('early', '--url', `${base}/a/PULP_MANIFEST`, '--mirror', '--policy', 'on_demand');
    expect(again.finishedEarly).toBeDefined();
    expect(again.report.removed).toEqual({});
    const [latest] = await history('early');
    expect(latest!.report!.finishedEarly).toBeDefined();
    expect(latest!.report!.removed).toEqual({});
    expect(await unitRelativePaths(home, 'early')).toHaveLength(12);
  });

  it('"up to date" is judged against the sync that produced the latest version, not an older one with the same settings', async () => {
    await sync('switch', '--url', `${base}/a/PULP_MANIFEST`, '--mirror', '--policy', 'on_demand');
    await sync('switch', '--url', `${base}/b/PULP_MANIFEST`, '--mirror', '--policy', 'on_demand');
    expect(await unitRelativePaths(home, 'switch')).toEqual([...trees.b!.keys()].sort());
    const back = await sync('switch', '--url', `${base}/a/PULP_MANIFEST`, '--mirror', '--policy', 'on_demand');
    expect(back.finishedEarly).toBeUndefined();
    expect(back.version).toBe(3);
    expect(await unitRelativePaths(home, 'switch')).toEqual([...trees.a!.keys()].sort());
  });

  it('a failed sync leaves the remembered feed as it was', async () => {
    await sync('remembered', '--url', `${base}/a/PULP_MANIFEST`, '--policy', 'on_demand');
    const failed = await cli('--json', 'sync', 'remembered', '--url', `${base}/missing/PULP_MANIFEST`);
    expect(failed.code).toBe(1);
    const show = await cli('--json', 'repo', 'show', 'remembered');
    expect(JSON.parse(show.stdout).feedUrl).toBe(`${base}/a/PULP_MANIFEST`);
    // and a later sync without --url goes back to the good feed
    const later = await cli('--json', 'sync', 'remembered', '--policy', 'on_demand');
    expect(later.code).toBe(0);
  });

  it('the policy is remembered with importer, url and config, and a sync may name another', async () => {
    await sync('policy', '--url', `${base}/a/PULP_MANIFEST`, '--policy', 'on_demand');
    expect(JSON.parse((await cli('--json', 'repo', 'show', 'policy')).stdout).policy).toBe('on_demand');
    // a forced re-sync that names no policy stays on_demand: nothing is downloaded
    await sync('policy', '--force');
    const stored = (await cli('--json', 'units', 'policy')).stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { artifacts: { stored: boolean }[] }).artifacts[0]!.stored);
    expect(stored).toHaveLength(12);
    expect(stored.every((s) => !s)).toBe(true);
    await sync('policy', '--policy', 'immediate');
    expect(JSON.parse((await cli('--json', 'repo', 'show', 'policy')).stdout).policy).toBe('immediate');
  });

  it('credentials in a feed url are used but neither shown nor stored', async () => {
    authorizations.length = 0;
    await sync('secret', '--url', `http://bob:hunter2@${base.slice('http://'.length)}/a/PULP_MANIFEST`, '--policy', 'on_demand');
    // the manifest request carried them
    expect(authorizations).toContain(`Basic ${Buffer.from('bob:hunter2').toString('base64')}`);
    for (const argv of [['repo', 'show', 'secret'], ['--json', 'repo', 'show', 'secret'], ['repo', 'list'], ['--json', 'repo', 'list'], ['--json', 'units', 'secret'], ['--json', 'history', 'secret']]) {
      const run = await cli(...argv);
      expect(run.code).toBe(0);
      expect(run.stdout + run.stderr).not.toContain('hunter2');
    }
    const catalog = readdirSync(home).filter((name) => name.startsWith('catalog.db'));
    expect(catalog.length).toBeGreaterThan(0);
    for (const file of catalog) expect(readFileSync(path.join(home, file)).includes('hunter2')).toBe(false);
  });

  it('a cancelled sync records none of the units it did not commit', async () => {
    const host = await createHost({ storageRoot: path.join(home, 'cancel-storage'), store: { sqlite: path.join(home, 'cancel.db') }, plugins: [fileImporter], batchSize: 10 });
    try {
      await host.createRepository({ name: 'cancelled' });
      const abort = new AbortController();
      const syncing = host.sync('cancelled', {
        importer: 'file',
        url: `${base}/slow/PULP_MANIFEST`,
        policy: 'immediate',
        signal: abort.signal,
        // units are associated batch by batch (of 10), so some are in the version when it is
        // cancelled; upstream answers 100 files and holds the rest, so the sync is surely midway
        // when the progress (every 250 ms) shows 20 added, however fast or slow the machine
        onProgress: (progress) => {
          if (progress.added >= 20) abort.abort();
        },
      });
      await expect(syncing).rejects.toMatchObject({ code: 'TRIBUTARY_ERR_SYNC_CANCELLED' });
      const [record] = await host.history('cancelled', 1);
      expect(record!.status).toBe('cancelled');
      expect(record!.report!.added).toEqual({});
      expect(record!.report!.removed).toEqual({});
      expect((await host.getRepository('cancelled')).latestVersion).toBe(0);
    } finally {
      await host.close();
    }
  });
});
