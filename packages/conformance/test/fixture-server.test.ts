import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startFixtureServer, type FixtureServer } from '@tributary/conformance';

interface Outcome {
  status?: number;
  headers?: http.IncomingHttpHeaders;
  body: Buffer;
  /** Set when the exchange did not complete: the error code, or 'timeout'. */
  error?: string;
}

/**
 * A raw request, so the test controls the exact request target (no URL normalisation).
 * `timeoutMs`: the client gives up once the connection has been silent that long.
 * `quietAfterDataMs`: the same, counted only from the first body bytes on (the status line may take
 * as long as it takes: a busy machine cannot make the client give up before the server answered).
 */
function request(
  server: FixtureServer,
  target: string,
  init: { method?: string; headers?: Record<string, string>; timeoutMs?: number; quietAfterDataMs?: number } = {},
): Promise<Outcome> {
  const { port } = new URL(server.url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const outcome: Outcome = { body: Buffer.alloc(0) };
    const finish = (error?: string) => {
      outcome.body = Buffer.concat(chunks);
      if (error !== undefined) outcome.error = error;
      resolve(outcome);
    };
    const req = http.request(
      { host: '127.0.0.1', port, path: target, method: init.method ?? 'GET', headers: init.headers, agent: false },
      (res) => {
        outcome.status = res.statusCode;
        outcome.headers = res.headers;
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        if (init.quietAfterDataMs !== undefined) res.once('data', () => req.setTimeout(init.quietAfterDataMs!, giveUp));
        res.on('end', () => finish());
        res.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
        res.on('aborted', () => finish('aborted'));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
    function giveUp(): void {
      req.destroy();
      finish('timeout');
    }
    if (init.timeoutMs !== undefined) req.setTimeout(init.timeoutMs, giveUp);
    req.end();
  });
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('fixture server', () => {
  let server: FixtureServer;
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fixture-server-'));
  });
  afterEach(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves in-memory files with their length, answers HEAD without a body and 404 for missing paths', async () => {
    server = await startFixtureServer({ files: { 'a/b.txt': 'hello', '/top.txt': Buffer.from('x') } });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    const get = await request(server, '/a/b.txt');
    expect(get.status).toBe(200);
    expect(get.headers?.['content-length']).toBe('5');
    expect(get.body.toString()).toBe('hello');

    const head = await request(server, '/a/b.txt', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers?.['content-length']).toBe('5');
    expect(head.body.length).toBe(0);

    expect((await request(server, '/top.txt')).body.toString()).toBe('x');
    expect((await request(server, '/missing.txt')).status).toBe(404);
    expect(server.urlFor('a/b.txt')).toBe(`${server.url}a/b.txt`);
  });

  it('streams files from a directory, decoding escaped names', async () => {
    const big = randomBytes(3 * 1024 * 1024 + 17);
    mkdirSync(path.join(dir, 'sub dir'));
    writeFileSync(path.join(dir, 'sub dir', 'big,1.bin'), big);
    server = await startFixtureServer({ root: dir });

    const got = await request(server, '/sub%20dir/big%2C1.bin');
    expect(got.status).toBe(200);
    expect(got.headers?.['content-length']).toBe(String(big.length));
    expect(sha256(got.body)).toBe(sha256(big));
    expect((await request(server, '/sub%20dir')).status).toBe(404); // directories are not files
  });

  it('refuses path traversal, raw or percent-encoded, and symlinks leading out of the root', async () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), 'fixture-outside-'));
    writeFileSync(path.join(outside, 'secret'), 'secret');
    mkdirSync(path.join(dir, 'repo'));
    writeFileSync(path.join(dir, 'sibling'), 'not served');
    symlinkSync(path.join(outside, 'secret'), path.join(dir, 'repo', 'link'));
    try {
      server = await startFixtureServer({ root: path.join(dir, 'repo') });
      for (const target of ['/../sibling', '/%2e%2e/sibling', '/x/%2E%2E/%2e%2e/sibling', '/..%2fsibling', '/%00', '/a%5c..%5csibling']) {
        const got = await request(server, target);
        expect({ target, status: got.status }).toEqual({ target, status: 403 });
        expect(got.body.toString()).not.toContain('not served');
      }
      const link = await request(server, '/link');
      expect(link.status).toBe(404);
      expect(link.body.toString()).not.toContain('secret\n');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('changes upstream state with setFile, removeFile and setFiles', async () => {
    writeFileSync(path.join(dir, 'disk.txt'), 'from disk');
    server = await startFixtureServer({ root: dir, files: { 'mem.txt': 'v1' } });
    expect((await request(server, '/disk.txt')).body.toString()).toBe('from disk');

    server.setFile('mem.txt', 'v2');
    server.setFile('disk.txt', 'overridden');
    expect((await request(server, '/mem.txt')).body.toString()).toBe('v2');
    expect((await request(server, '/disk.txt')).body.toString()).toBe('overridden');

    server.removeFile('disk.txt');
    server.removeFile('mem.txt');
    expect((await request(server, '/disk.txt')).status).toBe(404);
    expect((await request(server, '/mem.txt')).status).toBe(404);

    server.setFiles({ 'only.txt': 'only' });
    expect((await request(server, '/only.txt')).body.toString()).toBe('only');
    writeFileSync(path.join(dir, 'other.txt'), 'disk no longer served');
    expect((await request(server, '/other.txt')).status).toBe(404);
  });

  it('logs requests with credentials redacted', async () => {
    server = await startFixtureServer({ files: { f: 'x' } });
    await request(server, '/f?q=1', { headers: { authorization: 'Basic dXNlcjpzM2NyZXQ=', 'x-trace': 't1' } });
    await request(server, '/f', { method: 'HEAD' });
    expect(server.requests.map((r) => [r.method, r.path])).toEqual([
      ['GET', '/f?q=1'],
      ['HEAD', '/f'],
    ]);
    expect(server.requests[0]?.headers['authorization']).toBe('[redacted]');
    expect(server.requests[0]?.headers['x-trace']).toBe('t1');
    expect(JSON.stringify(server.requests)).not.toContain('dXNlcjpzM2NyZXQ=');
    server.clearRequests();
    expect(server.requests).toHaveLength(0);
  });

  it('injects a status for a limited number of requests, then serves normally', async () => {
    server = await startFixtureServer({ files: { 'a.bin': 'abc', 'b.bin': 'def' } });
    server.fault('a.bin', { status: 503, times: 2 });
    expect((await request(server, '/a.bin')).status).toBe(503);
    expect((await request(server, '/b.bin')).status).toBe(200);
    expect((await request(server, '/a.bin')).status).toBe(503);
    const third = await request(server, '/a.bin');
    expect(third.status).toBe(200);
    expect(third.body.toString()).toBe('abc');
  });

  it('matches faults by glob and clears them', async () => {
    server = await startFixtureServer({ files: { 'pkgs/a.rpm': 'a', 'pkgs/deep/b.rpm': 'b', 'repodata/repomd.xml': '<x/>' } });
    server.fault('pkgs/*.rpm', { status: 500 });
    server.fault('**/b.rpm', { status: 429 });
    expect((await request(server, '/pkgs/a.rpm')).status).toBe(500);
    expect((await request(server, '/pkgs/deep/b.rpm')).status).toBe(429);
    expect((await request(server, '/repodata/repomd.xml')).status).toBe(200);
    server.clearFaults();
    expect((await request(server, '/pkgs/a.rpm')).status).toBe(200);
  });

  it('resets the connection after some body bytes', async () => {
    writeFileSync(path.join(dir, 'f.bin'), randomBytes(256 * 1024));
    server = await startFixtureServer({ root: dir });
    server.fault('f.bin', { resetAfterBytes: 1000 });
    const got = await request(server, '/f.bin');
    expect(got.status).toBe(200);
    expect(got.headers?.['content-length']).toBe(String(256 * 1024));
    expect(got.error).toBeDefined();
    expect(got.body.length).toBeLessThanOrEqual(1000);
  });

  it('truncates a body below its announced Content-Length and closes the connection', async () => {
    server = await startFixtureServer({ files: { 'f.bin': Buffer.alloc(5000, 7) } });
    server.fault('f.bin', { truncateTo: 1234 });
    const got = await request(server, '/f.bin');
    expect(got.headers?.['content-length']).toBe('5000');
    expect(got.error).toBeDefined();
    expect(got.body.length).toBe(1234);
  });

  it('serves replacement bytes with their own length', async () => {
    server = await startFixtureServer({ files: { 'f.bin': 'original' } });
    server.fault('f.bin', { body: 'corrupted!', times: 1 });
    const bad = await request(server, '/f.bin');
    expect(bad.body.toString()).toBe('corrupted!');
    expect(bad.headers?.['content-length']).toBe('10');
    expect((await request(server, '/f.bin')).body.toString()).toBe('original');
  });

  it('stalls before the status line, or mid-body, until the client gives up', async () => {
    server = await startFixtureServer({ files: { 'f.bin': Buffer.alloc(4096, 1), 'g.bin': Buffer.alloc(4096, 2) } });
    server.fault('f.bin', { stall: true });
    server.fault('g.bin', { stallAfterBytes: 100 });
    const stalled = await request(server, '/f.bin', { timeoutMs: 300 });
    expect(stalled.error).toBe('timeout');
    expect(stalled.status).toBeUndefined();

    // the client waits for the headers and the first bytes however long they take, then gives up once nothing more comes
    const midBody = await request(server, '/g.bin', { quietAfterDataMs: 300 });
    expect(midBody.status).toBe(200);
    expect(midBody.body.length).toBe(100);
    expect(midBody.error).toBeDefined();
  });

  it('delays a response without changing it', async () => {
    server = await startFixtureServer({ files: { 'f.bin': 'late' } });
    server.fault('f.bin', { delayMs: 2000, times: 1 });
    expect((await request(server, '/f.bin', { timeoutMs: 200 })).error).toBe('timeout');
    expect((await request(server, '/f.bin', { timeoutMs: 30_000 })).body.toString()).toBe('late');
  });

  it('clearFaults() lets requests waiting out a delay go on at once', async () => {
    server = await startFixtureServer({ files: { 'f.bin': 'held' } });
    server.fault('f.bin', { delayMs: 600_000 });
    const held = request(server, '/f.bin');
    while (server.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    server.clearFaults();
    // without the release this would wait ten minutes, far past the test's timeout
    expect(await held).toMatchObject({ status: 200, body: Buffer.from('held') });
  });

  it('close() ends stalled connections', async () => {
    server = await startFixtureServer({ files: { 'f.bin': 'x' } });
    server.fault('f.bin', { stall: true });
    const pending = request(server, '/f.bin');
    while (server.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await server.close();
    expect((await pending).error).toBeDefined();
  });

  it('rejects a malformed fault', async () => {
    server = await startFixtureServer({});
    expect(() => server.fault('x', { times: 0 })).toThrow(RangeError);
    expect(() => server.fault('x', { truncateTo: -1 })).toThrow(RangeError);
  });
});
