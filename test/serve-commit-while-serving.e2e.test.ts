/**
 * A distribution following the latest version while a sync commits a new one: clients requesting
 * files and PULP_MANIFEST throughout get either the old version's or the new version's content for
 * each path (never a mix, never a server error), and once the commit is visible (short cache TTL)
 * they get the new version only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Host } from '@tributary/core';
import {
  manifestLines,
  openHost,
  patternBytes,
  request,
  sortedManifest,
  startApp,
  startUpstream,
  syncFileRepo,
  waitFor,
  withManifest,
  type Files,
  type RunningApp,
  type Upstream,
} from './fixtures/serve/serve-harness';

function version1(): Files {
  const files: Files = {};
  for (let i = 0; i < 10; i++) files[`f${i}.txt`] = Buffer.from(`version 1 of file ${i}\n`.repeat(i + 1));
  files['dir/big.bin'] = patternBytes(400 * 1024, 31);
  return files;
}

function version2(): Files {
  const files = version1();
  for (let i = 0; i < 5; i++) files[`f${i}.txt`] = Buffer.from(`version 2 of file ${i}, changed\n`.repeat(i + 2));
  delete files['f9.txt'];
  files['f10.txt'] = Buffer.from('new in version 2\n');
  files['dir/big.bin'] = patternBytes(400 * 1024 + 1, 32);
  return files;
}

type Outcome = 'old' | 'new' | 'both' | 'bad';

describe('content app: a commit while serving', () => {
  let home: string;
  let upstream: Upstream;
  let host: Host;
  let served: RunningApp;
  let base: string;

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'serve-commit-'));
    upstream = await startUpstream(withManifest(version1()));
    host = await openHost(home);
    await syncFileRepo(host, 'repo', upstream.urlFor('PULP_MANIFEST'), { policy: 'immediate' });
    await host.distributions.create('dist', { repository: 'repo', basePath: 'repo/latest' });
    served = await startApp(host, { cacheTtlMs: 20 });
    base = `${served.origin}/content/repo/latest/`;
  });
  afterAll(async () => {
    await served?.close();
    await host?.close();
    await upstream?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('every response is the old or the new version of its path; after the commit the new one is served', async () => {
    const v1 = version1();
    const v2 = version2();
    const manifest1 = manifestLines(v1).sort();
    const manifest2 = manifestLines(v2).sort();
    const paths = [...new Set([...Object.keys(v1), ...Object.keys(v2), 'PULP_MANIFEST'])].sort();

    /** Which version a response is: a body (or 404) of one version; 'both' when the versions agree on it. */
    function classify(p: string, status: number, body: Buffer): Outcome {
      const matches = (files: Files, manifest: string[]): boolean => {
        if (p === 'PULP_MANIFEST') return status === 200 && JSON.stringify(sortedManifest(body)) === JSON.stringify(manifest);
        const expected = files[p];
        return expected === undefined ? status === 404 : status === 200 && body.equals(expected);
      };
      const old = matches(v1, manifest1);
      const now = matches(v2, manifest2);
      return old && now ? 'both' : old ? 'old' : now ? 'new' : 'bad';
    }

    const records: { path: string; status: number; outcome: Outcome; startedAfterSwitch: boolean; detail: string }[] = [];
    let switched = false;
    let stop = false;
    async function client(offset: number): Promise<void> {
      for (let i = offset; !stop; i++) {
        const p = paths[i % paths.length]!;
        const startedAfterSwitch = switched;
        const response = await request(`${base}${p}`);
        const outcome = response.complete ? classify(p, response.status, response.body) : 'bad';
        records.push({ path: p, status: response.status, outcome, startedAfterSwitch, detail: outcome === 'bad' ? `${response.status} ${response.body.subarray(0, 120).toString()}` : '' });
      }
    }

    // every path answered as version 1 before the sync
    for (const p of paths) {
      const response = await request(`${base}${p}`);
      expect({ p, outcome: classify(p, response.status, response.body) }).toEqual({ p, outcome: expect.stringMatching(/^(old|both)$/) });
    }

    const clients = [0, 3, 6, 9].map((offset) => client(offset));
    // some requests are answered before the sync starts
    await waitFor(() => records.length >= paths.length * 2, 'requests before the sync');
    upstream.setFiles(withManifest(v2));
    const outcome = await syncFileRepo(host, 'repo', upstream.urlFor('PULP_MANIFEST'), { policy: 'immediate', mirror: true });
    expect(outcome.version).toBe(2);

    // eventually one whole round of every path, started after the commit, is the new version
    const newRound = async (): Promise<boolean> => {
      for (const p of paths) {
        const response = await request(`${base}${p}`);
        if (classify(p, response.status, response.body) === 'old') return false;
      }
      return true;
    };
    await waitFor(newRound, 'every path to be served from version 2');
    switched = true;
    // and the clients keep running a while longer, all seeing the new version
    await waitFor(() => records.filter((r) => r.startedAfterSwitch).length >= paths.length * 2, 'requests after the switch');
    stop = true;
    await Promise.all(clients);

    const bad = records.filter((r) => r.outcome === 'bad');
    expect(bad).toEqual([]);
    expect(records.filter((r) => r.status >= 500)).toEqual([]);
    // both versions were seen by the clients
    expect(records.some((r) => r.outcome === 'old')).toBe(true);
    expect(records.some((r) => r.outcome === 'new')).toBe(true);
    // once every path was seen as the new version, no request started later sees the old one
    const after = records.filter((r) => r.startedAfterSwitch);
    expect(after.length).toBeGreaterThanOrEqual(paths.length * 2);
    expect(after.filter((r) => r.outcome === 'old')).toEqual([]);
  });

  it('a distribution pinned to version 1 keeps serving version 1', async () => {
    await host.distributions.create('pinned', { repository: 'repo', basePath: 'repo/v1', version: 1 });
    const v1 = version1();
    await waitFor(async () => (await request(`${served.origin}/content/repo/v1/f0.txt`)).status === 200, 'the new distribution to be seen');
    for (const [name, body] of Object.entries(v1)) {
      const response = await request(`${served.origin}/content/repo/v1/${name}`);
      expect({ name, status: response.status, same: response.body.equals(body) }).toEqual({ name, status: 200, same: true });
    }
    const manifest = await request(`${served.origin}/content/repo/v1/PULP_MANIFEST`);
    expect(sortedManifest(manifest.body)).toEqual(manifestLines(v1).sort());
    expect((await request(`${served.origin}/content/repo/v1/f10.txt`)).status).toBe(404);
  });

  it('distribution update: a new base path and version are served within the cache TTL, the old base path is gone', async () => {
    const v1 = version1();
    const v2 = version2();
    await host.distributions.update('pinned', { basePath: 'repo/moved', version: null });
    await waitFor(async () => (await request(`${served.origin}/content/repo/moved/f0.txt`)).body.equals(v2['f0.txt']!), 'the moved distribution to serve the latest version');
    await waitFor(async () => (await request(`${served.origin}/content/repo/v1/f0.txt`)).status === 404, 'the old base path to go');
    await host.distributions.update('pinned', { version: 1 });
    await waitFor(async () => (await request(`${served.origin}/content/repo/moved/f0.txt`)).body.equals(v1['f0.txt']!), 'the pin to version 1 to show');
    await host.distributions.delete('pinned');
    await waitFor(async () => (await request(`${served.origin}/content/repo/moved/f0.txt`)).status === 404, 'the deleted distribution to go');
    expect((await request(`${base}f0.txt`)).body.equals(v2['f0.txt']!)).toBe(true);
  });
});

/**
 * The resolver re-reads a repository when its cached record is older than the TTL. Two requests
 * may re-read it at once; the read that started first (before a commit) may finish last. Once a
 * request has been answered from the new version, a later request must not be answered from the
 * old one again: a stale read must not replace a fresher cached record.
 */
describe('content app: a slow repository read that started before a commit', () => {
  let home: string;
  let upstream: Upstream;
  let host: Host;
  let served: RunningApp;

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'serve-stale-'));
    upstream = await startUpstream(withManifest(version1()));
    host = await openHost(home);
    await syncFileRepo(host, 'repo', upstream.urlFor('PULP_MANIFEST'), { policy: 'immediate' });
    await host.distributions.create('dist', { repository: 'repo', basePath: 'repo' });
    await host.publish('repo');
    // a long TTL: what is cached stays cached for the whole test
    served = await startApp(host, { cacheTtlMs: 600_000 });
  });
  afterAll(async () => {
    await served?.close();
    await host?.close();
    await upstream?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('a request answered from version 2 is not followed by one answered from version 1', async () => {
    const v1 = version1()['f0.txt']!;
    const v2 = version2()['f0.txt']!;
    const url = `${served.origin}/content/repo/f0.txt`;

    // the next repository read sees the catalog as it is now (version 1), and is answered late
    const store = host.store as { getRepositoryById: (id: string) => Promise<unknown> };
    const original = store.getRepositoryById.bind(host.store);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let gated = false;
    store.getRepositoryById = async (id: string) => {
      if (gated) return original(id);
      gated = true;
      const record = await original(id);
      await gate;
      return record;
    };
    try {
      const slow = request(url);
      await waitFor(() => gated, 'the first request to read the repository');

      // meanwhile version 2 is committed and published
      upstream.setFiles(withManifest(version2()));
      expect((await syncFileRepo(host, 'repo', upstream.urlFor('PULP_MANIFEST'), { policy: 'immediate', mirror: true })).version).toBe(2);
      await host.publish('repo');

      // a request now reads the repository afresh and is answered from version 2
      const fresh = await request(url);
      expect(fresh.body.equals(v2)).toBe(true);

      // the slow read ends; its request may be answered from version 1 (it began before the commit)
      release();
      const late = await slow;
      expect(late.body.equals(v1) || late.body.equals(v2)).toBe(true);

      // every request from now on is answered from version 2
      const after = await request(url);
      expect({ version: after.body.equals(v2) ? 2 : after.body.equals(v1) ? 1 : 'neither' }).toEqual({ version: 2 });
    } finally {
      release();
      store.getRepositoryById = original;
    }
  });
});
