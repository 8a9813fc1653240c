/**
 * On-demand fetches are shared: fifty clients asking at once for one missing 64 MiB artifact make
 * one upstream request and all get the whole, right body; a Range request for a missing artifact
 * stores the whole artifact, so the next request needs no upstream.
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { Host } from '@tributary/core';
import {
  compareBody,
  digestOf,
  patternBytes,
  request,
  serveFileRepo,
  sha256Hex,
  syncFileRepo,
  waitFor,
  withManifest,
  type RunningApp,
  type ServedFileRepo,
  type Upstream,
} from './fixtures/serve/serve-harness';

const BIG = 64 * 1024 * 1024;
const CLIENTS = 50;
const MiB = 1024 * 1024;

describe('content app: single flight of on-demand fetches', () => {
  let repo: ServedFileRepo;
  let upstream: Upstream;
  let host: Host;
  let served: RunningApp;
  let base: string;
  let big: Buffer;
  let medium: Buffer;
  /** Requests that reached the content app. */
  let arrived = 0;

  beforeAll(async () => {
    big = patternBytes(BIG, 21);
    medium = patternBytes(4 * MiB + 11, 22);
    repo = await serveFileRepo(
      { 'big.bin': big, 'medium.bin': medium },
      {
        policy: 'on_demand',
        homePrefix: 'serve-flight-',
        beforeListen: (app) => {
          app.server.addHook('onRequest', async () => {
            arrived++;
          });
        },
      },
    );
    ({ upstream, host, served, base } = repo);
    // the publication is built before the race starts (not needed for correctness, keeps the counts simple)
    expect((await request(`${base}PULP_MANIFEST`)).status).toBe(200);
  });
  afterAll(() => repo?.close());

  it(`${CLIENTS} concurrent GETs of one missing 64 MiB artifact: one upstream request, ${CLIENTS} whole and right bodies`, async () => {
    const sha = sha256Hex(big);
    // upstream sends the first MiB, then holds the rest until every client has reached the app,
    // then sends 1 MiB chunks with pauses: all clients join one fetch while it runs
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    upstream.throttle('big.bin', { chunkBytes: MiB, delayMs: 2, gate });
    arrived = 0;
    const downloads = Array.from({ length: CLIENTS }, () => compareBody(`${base}big.bin`, big));
    await waitFor(() => arrived >= CLIENTS && upstream.count('big.bin') >= 1, 'every client to reach the app');
    // the fetch is under way and held: nothing is stored yet
    expect(await host.store.findArtifacts('sha256', [sha])).toEqual([]);
    expect(served.app.onDemand.inFlight).toBe(1);
    release();
    const results = await Promise.all(downloads);

    expect(upstream.count('big.bin')).toBe(1);
    for (const result of results) {
      // bytes equal to the upstream file's, all of them: the right sha256 and length
      expect({ status: result.status, bytes: result.bytes, complete: result.complete, matches: result.matches }).toEqual({ status: 200, bytes: BIG, complete: true, matches: true });
      expect(result.headers['content-length']).toBe(String(BIG));
    }
    const [record] = await host.store.findArtifacts('sha256', [sha]);
    expect(record).toMatchObject({ sha256: sha, size: BIG });
    expect(existsSync(host.storage.pathFor(sha))).toBe(true);
    expect(served.app.onDemand.inFlight).toBe(0);

    // a later request is served from storage
    const later = await digestOf(`${base}big.bin`);
    expect([later.status, later.bytes, later.sha256]).toEqual([200, BIG, sha]);
    expect(upstream.count('big.bin')).toBe(1);
  });

  it('a client that goes away mid-body does not stop the shared fetch: the others get the whole body, it is stored', async () => {
    const body = patternBytes(6 * MiB + 3, 23);
    const sha = sha256Hex(body);
    upstream.setFiles(withManifest({ 'big.bin': big, 'medium.bin': medium, 'shared.bin': body }));
    await syncFileRepo(host, 'repo', upstream.urlFor('PULP_MANIFEST'), { policy: 'on_demand' });
    await waitFor(async () => (await request(`${base}shared.bin`, { method: 'HEAD' })).status === 200, 'the new version to be served');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    upstream.throttle('shared.bin', { chunkBytes: MiB, delayMs: 1, gate });

    // one client reads the first bytes and hangs up
    let quitterBytes = 0;
    const quitter = new Promise<void>((resolve) => {
      const req = http.get(`${base}shared.bin`, { agent: false }, (res) => {
        res.on('data', (chunk: Buffer) => {
          quitterBytes += chunk.length;
          req.destroy();
        });
        res.on('close', () => resolve());
        res.on('error', () => resolve());
      });
      req.on('error', () => resolve());
    });
    const stayers = [compareBody(`${base}shared.bin`, body), compareBody(`${base}shared.bin`, body)];
    await waitFor(() => quitterBytes > 0, 'the first bytes');
    await quitter;
    release();
    for (const result of await Promise.all(stayers)) {
      expect({ status: result.status, bytes: result.bytes, complete: result.complete, matches: result.matches }).toEqual({ status: 200, bytes: body.length, complete: true, matches: true });
    }
    expect(upstream.count('shared.bin')).toBe(1);
    expect(await host.store.findArtifacts('sha256', [sha])).toHaveLength(1);
    expect(readFileSync(host.storage.pathFor(sha)).equals(body)).toBe(true);
  });

  it('a Range request for a missing artifact stores the whole artifact; the next request needs no upstream', async () => {
    const sha = sha256Hex(medium);
    upstream.throttle('medium.bin', { chunkBytes: MiB, delayMs: 1 });
    expect(await host.store.findArtifacts('sha256', [sha])).toEqual([]);

    const partial = await request(`${base}medium.bin`, { headers: { range: 'bytes=1000000-1000099' } });
    expect(partial.status).toBe(206);
    expect(partial.headers['content-range']).toBe(`bytes 1000000-1000099/${medium.length}`);
    expect(partial.body.equals(medium.subarray(1_000_000, 1_000_100))).toBe(true);
    expect(upstream.count('medium.bin')).toBe(1);

    const [record] = await host.store.findArtifacts('sha256', [sha]);
    expect(record).toMatchObject({ sha256: sha, size: medium.length });
    expect(readFileSync(host.storage.pathFor(sha)).equals(medium)).toBe(true);

    const whole = await request(`${base}medium.bin`);
    expect([whole.status, whole.complete]).toEqual([200, true]);
    expect(whole.body.equals(medium)).toBe(true);
    const tail = await request(`${base}medium.bin`, { headers: { range: 'bytes=-16' } });
    expect(tail.status).toBe(206);
    expect(tail.body.equals(medium.subarray(medium.length - 16))).toBe(true);
    expect(upstream.count('medium.bin')).toBe(1);
    expect(served.access.filter((a) => a.path === '/content/repo/medium.bin').map((a) => a.served)).toEqual(['on-demand', 'stored', 'stored']);
  });
});
