/**
 * The content app's fast path (`fastPath: true`, as `tributary serve` runs it): a plain GET or HEAD
 * of a stored file whose lookups are cached is answered before fastify routes it, with the same
 * status, headers, body and access record as the routed answer; anything else is routed as before;
 * and without the option every request reaches fastify's hooks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Host } from '@tributary/core';
import { openHost, rawRequest, request, startApp, startUpstream, syncFileRepo, withManifest, type RunningApp, type Upstream } from './fixtures/serve/serve-harness';

const files = { 'a/one.txt': Buffer.from('one\n'), 'b/two.rpm': Buffer.alloc(40_000, 7) };

describe('content app fast path', () => {
  let home: string;
  let upstream: Upstream;
  let host: Host;
  const apps: RunningApp[] = [];

  async function app(fastPath: boolean): Promise<{ running: RunningApp; routed: string[] }> {
    const routed: string[] = [];
    // lookups cached for a minute: on a busy machine a second may pass between two requests
    const running = await startApp(host, { fastPath, cacheTtlMs: 60_000 }, (a) => {
      a.server.addHook('onRequest', async (req) => {
        routed.push(`${req.method} ${req.url}`);
      });
    });
    apps.push(running);
    return { running, routed };
  }

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'serve-fast-'));
    upstream = await startUpstream(withManifest(files));
    host = await openHost(home);
    await syncFileRepo(host, 'repo', upstream.urlFor('PULP_MANIFEST'));
    await host.distributions.create('dist', { repository: 'repo', basePath: 'repo' });
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await host?.close();
    await upstream?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('a cached stored file is answered before routing, exactly as the routed answer', async () => {
    const { running, routed } = await app(true);
    const url = `${running.origin}/content/repo/b/two.rpm`;
    const first = await request(url);
    const second = await request(url);
    const head = await request(url, { method: 'HEAD' });
    // the first request filled the caches through fastify; the next two did not reach it
    expect(routed).toEqual(['GET /content/repo/b/two.rpm']);
    const headers = (r: typeof first) => {
      const { date: _date, ...rest } = r.headers;
      return rest;
    };
    expect(second.status).toBe(first.status);
    expect(headers(second)).toEqual(headers(first));
    expect(second.body.equals(files['b/two.rpm'])).toBe(true);
    expect([head.status, head.body.length, headers(head)]).toEqual([200, 0, headers(first)]);
    expect(first.headers).toMatchObject({ 'content-type': 'application/x-rpm', 'content-length': '40000', 'accept-ranges': 'bytes' });
    const records = running.access.map(({ time: _t, ms: _m, ...rest }) => rest);
    expect(records).toEqual([
      { method: 'GET', path: '/content/repo/b/two.rpm', status: 200, bytes: 40000, remote: '127.0.0.1', served: 'stored' },
      { method: 'GET', path: '/content/repo/b/two.rpm', status: 200, bytes: 40000, remote: '127.0.0.1', served: 'stored' },
      { method: 'HEAD', path: '/content/repo/b/two.rpm', status: 200, bytes: null, remote: '127.0.0.1', served: 'stored' },
    ]);
  });

  it('conditions, ranges, listings and bad paths are still routed', async () => {
    const { running, routed } = await app(true);
    const url = `${running.origin}/content/repo/a/one.txt`;
    const plain = await request(url);
    const etag = plain.headers.etag!;
    expect((await request(url, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const range = await request(url, { headers: { range: 'bytes=1-2' } });
    expect([range.status, range.body.toString()]).toEqual([206, 'ne']);
    expect((await request(`${running.origin}/content/repo/a/`)).status).toBe(200);
    expect((await rawRequest(running.port, '/content/repo/a/%2e%2e/one.txt')).status).toBe(400);
    expect(routed).toHaveLength(5);
  });

  it('without the option every request reaches the hooks', async () => {
    const { running, routed } = await app(false);
    for (let i = 0; i < 3; i++) expect((await request(`${running.origin}/content/repo/a/one.txt`)).status).toBe(200);
    expect(routed).toHaveLength(3);
  });
});
