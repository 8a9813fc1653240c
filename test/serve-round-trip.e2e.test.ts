/**
 * The content app serving an on_demand file repository: every file byte-identical to upstream,
 * HTTP semantics of stored files (HEAD, ETag, 304, ranges, Last-Modified, Content-Length),
 * listings, 404s — and, with upstream gone, another Tributary syncing from the served
 * PULP_MANIFEST gets the same files.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Host } from '@tributary/core';
import {
  openHost,
  request,
  sha256Hex,
  sortedManifest,
  startApp,
  startUpstream,
  syncFileRepo,
  unitDigests,
  withManifest,
  manifestLines,
  patternBytes,
  type Files,
  type RunningApp,
  type Upstream,
} from './fixtures/serve/serve-harness';

const FILES: Files = {
  'a.txt': Buffer.from('alpha\n'),
  'dir/b.txt': Buffer.from('bravo\n'),
  'dir/sub/c d,e #1.txt': Buffer.from('charlie: spaces, a comma and a hash in the name\n'),
  'empty.bin': Buffer.alloc(0),
  'big.bin': patternBytes(300 * 1024 + 7, 1),
  'huge.bin': patternBytes(3 * 1024 * 1024 + 3, 2),
};

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

describe('content app: a file repository round trip', () => {
  let home: string;
  let home2: string;
  let upstream: Upstream;
  let host: Host;
  let host2: Host | undefined;
  let served: RunningApp;
  let base: string;

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'serve-rt-'));
    home2 = mkdtempSync(path.join(os.tmpdir(), 'serve-rt2-'));
    upstream = await startUpstream(withManifest(FILES));
    host = await openHost(home);
    await syncFileRepo(host, 'src', upstream.urlFor('PULP_MANIFEST'), { policy: 'on_demand' });
    await host.distributions.create('src-dist', { repository: 'src', basePath: 'files/src' });
    served = await startApp(host);
    base = `${served.origin}/content/files/src/`;
  });
  afterAll(async () => {
    await served?.close();
    await host?.close();
    await host2?.close();
    await upstream?.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(home2, { recursive: true, force: true });
  });

  it('HEAD of a file not yet fetched answers from the catalog without contacting upstream', async () => {
    const before = upstream.count('big.bin');
    const head = await request(`${base}big.bin`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(FILES['big.bin']!.length));
    expect(head.headers.etag).toBe(`"${sha256Hex(FILES['big.bin']!)}"`);
    expect(head.body.length).toBe(0);
    expect(upstream.count('big.bin')).toBe(before);
  });

  it('GET of every file: bodies identical to upstream, Content-Length and ETag right; each fetched from upstream once', async () => {
    for (const [name, body] of Object.entries(FILES)) {
      const first = await request(`${base}${encodePath(name)}`);
      expect({ name, status: first.status, complete: first.complete }).toEqual({ name, status: 200, complete: true });
      expect(first.body.equals(body)).toBe(true);
      expect(first.headers['content-length']).toBe(String(body.length));
      expect(first.headers.etag).toBe(`"${sha256Hex(body)}"`);
      // again, now from storage
      const second = await request(`${base}${encodePath(name)}`);
      expect(second.status).toBe(200);
      expect(second.body.equals(body)).toBe(true);
      expect(second.headers['content-length']).toBe(String(body.length));
      expect(second.headers.etag).toBe(`"${sha256Hex(body)}"`);
      expect(second.headers['last-modified']).toBeDefined();
      expect(Number.isNaN(Date.parse(second.headers['last-modified']!))).toBe(false);
      expect(upstream.count(name)).toBe(1);
      // stored in the catalog and in storage
      const sha = sha256Hex(body);
      expect((await host.store.findArtifacts('sha256', [sha])).map((a) => a.size)).toEqual([body.length]);
      expect(sha256Hex(readFileSync(host.storage.pathFor(sha)))).toBe(sha);
    }
  });

  it('the served PULP_MANIFEST lists exactly the upstream files', async () => {
    const manifest = await request(`${base}PULP_MANIFEST`);
    expect(manifest.status).toBe(200);
    expect(manifest.headers['content-type']).toMatch(/^text\/plain/);
    expect(sortedManifest(manifest.body)).toEqual(manifestLines(FILES).sort());
    expect(manifest.headers['content-length']).toBe(String(manifest.body.length));
  });

  it('HEAD of a stored file: headers of the GET, no body', async () => {
    const body = FILES['huge.bin']!;
    const head = await request(`${base}huge.bin`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe(String(body.length));
    expect(head.headers.etag).toBe(`"${sha256Hex(body)}"`);
    expect(head.headers['last-modified']).toBeDefined();
    expect(head.headers['accept-ranges']).toBe('bytes');
  });

  it('If-None-Match with the ETag is a 304 without a body; another ETag gets the file', async () => {
    const body = FILES['big.bin']!;
    const etag = `"${sha256Hex(body)}"`;
    const notModified = await request(`${base}big.bin`, { headers: { 'if-none-match': etag } });
    expect(notModified.status).toBe(304);
    expect(notModified.body.length).toBe(0);
    expect(notModified.headers.etag).toBe(etag);
    const listed = await request(`${base}big.bin`, { headers: { 'if-none-match': `"nope", ${etag}` } });
    expect(listed.status).toBe(304);
    const lastModified = (await request(`${base}big.bin`, { method: 'HEAD' })).headers['last-modified']!;
    expect((await request(`${base}big.bin`, { headers: { 'if-modified-since': lastModified } })).status).toBe(304);
    expect((await request(`${base}big.bin`, { headers: { 'if-modified-since': new Date(Date.parse(lastModified) - 3_600_000).toUTCString() } })).status).toBe(200);
    const other = await request(`${base}big.bin`, { headers: { 'if-none-match': `"${'0'.repeat(64)}"` } });
    expect(other.status).toBe(200);
    expect(other.body.equals(body)).toBe(true);
  });

  it.each([
    ['bytes=0-9', 0, 9],
    ['bytes=100-', 100, 3 * 1024 * 1024 + 2],
    ['bytes=-5', 3 * 1024 * 1024 + 3 - 5, 3 * 1024 * 1024 + 2],
    ['bytes=200000-400000', 200_000, 400_000],
  ])('Range %s: 206 with Content-Range and exactly those bytes', async (range, start, end) => {
    const body = FILES['huge.bin']!;
    const partial = await request(`${base}huge.bin`, { headers: { range } });
    expect(partial.status).toBe(206);
    expect(partial.headers['content-range']).toBe(`bytes ${start}-${end}/${body.length}`);
    expect(partial.headers['content-length']).toBe(String(end - start + 1));
    expect(partial.body.equals(body.subarray(start, end + 1))).toBe(true);
  });

  it('If-Range with the ETag honours the range; with another validator the whole file is sent', async () => {
    const body = FILES['huge.bin']!;
    const etag = `"${sha256Hex(body)}"`;
    const matching = await request(`${base}huge.bin`, { headers: { range: 'bytes=0-9', 'if-range': etag } });
    expect(matching.status).toBe(206);
    expect(matching.body.equals(body.subarray(0, 10))).toBe(true);
    const stale = await request(`${base}huge.bin`, { headers: { range: 'bytes=0-9', 'if-range': `"${'1'.repeat(64)}"` } });
    expect(stale.status).toBe(200);
    expect(stale.body.equals(body)).toBe(true);
  });

  it('Range on a small stored file: 206 bytes=0-9', async () => {
    const body = FILES['dir/sub/c d,e #1.txt']!;
    const partial = await request(`${base}${encodePath('dir/sub/c d,e #1.txt')}`, { headers: { range: 'bytes=0-9' } });
    expect(partial.status).toBe(206);
    expect(partial.headers['content-range']).toBe(`bytes 0-9/${body.length}`);
    expect(partial.body.equals(body.subarray(0, 10))).toBe(true);
  });

  it.each(['bytes=999999999-', `bytes=${FILES['big.bin']!.length}-`])('Range %s beyond the end: 416 with bytes */size', async (range) => {
    const body = FILES['big.bin']!;
    const unsatisfiable = await request(`${base}big.bin`, { headers: { range } });
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers['content-range']).toBe(`bytes */${body.length}`);
  });

  it('directory listings name the files and subdirectories; a directory without its slash redirects', async () => {
    const root = await request(base);
    expect(root.status).toBe(200);
    expect(root.headers['content-type']).toMatch(/^text\/html/);
    const page = root.body.toString();
    for (const name of ['a.txt', 'big.bin', 'huge.bin', 'empty.bin', 'PULP_MANIFEST']) expect(page).toContain(`href="${name}"`);
    expect(page).toContain('href="dir/"');
    const dir = (await request(`${base}dir/`)).body.toString();
    expect(dir).toContain('href="b.txt"');
    expect(dir).toContain('href="sub/"');
    const sub = await request(`${base}dir/sub/`);
    expect(sub.status).toBe(200);
    expect(sub.body.toString()).toContain(`href="${encodePath('c d,e #1.txt')}"`);
    expect(sub.body.toString()).toContain('c d,e #1.txt');
    const redirect = await request(`${base}dir`);
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('/content/files/src/dir/');
    // above the distribution: the base path's segments are listed
    const above = await request(`${served.origin}/content/`);
    expect(above.status).toBe(200);
    expect(above.body.toString()).toContain('href="files/"');
    expect((await request(`${served.origin}/content/files/`)).body.toString()).toContain('href="src/"');
  });

  it.each(['/content/', '/content', '/content/files/src/', '/content/files/src/dir/sub/'])('every link of the listings reached from %s leads to a page or a file that answers 200', async (start) => {
    const seen = new Set<string>();
    const queue = [new URL(start, served.origin).href];
    while (queue.length > 0) {
      const url = queue.shift()!;
      if (seen.has(url)) continue;
      seen.add(url);
      const answer = await request(url);
      if (answer.status === 301 && url.endsWith('/content')) {
        // /content is /content/ (so the listing's relative links resolve under it)
        expect(answer.headers.location).toBe('/content/');
        queue.push(new URL(String(answer.headers.location), url).href);
        continue;
      }
      expect({ url, status: answer.status }).toEqual({ url, status: 200 });
      if (!String(answer.headers['content-type']).startsWith('text/html')) continue;
      for (const [, href] of answer.body.toString().matchAll(/href="([^"]*)"/g)) {
        const next = new URL(href!, url);
        // links stay on this server (and under /content/)
        expect({ from: url, href, origin: next.origin, path: next.pathname.startsWith('/content/') }).toEqual({ from: url, href, origin: served.origin, path: true });
        queue.push(next.href);
      }
    }
    // every file was reached
    for (const name of Object.keys(FILES)) expect([...seen]).toContain(`${base}${encodePath(name)}`);
  });

  it.each(['nope.txt', 'dir/nope.txt', 'nodir/', 'a.txt/more', 'dir/b.txt/'])('unknown path %s under the distribution: 404', async (rest) => {
    expect((await request(`${base}${rest}`)).status).toBe(404);
  });

  it('unknown base path: 404', async () => {
    expect((await request(`${served.origin}/content/nope/a.txt`)).status).toBe(404);
    expect((await request(`${served.origin}/content/files/other/a.txt`)).status).toBe(404);
    expect((await request(`${served.origin}/elsewhere`)).status).toBe(404);
  });

  it('with upstream stopped, another Tributary syncs from the served PULP_MANIFEST and holds the same files', async () => {
    await upstream.close();
    const manifestUrl = `${base}PULP_MANIFEST`;
    host2 = await openHost(home2);
    const outcome = await syncFileRepo(host2, 'copy', manifestUrl, { policy: 'immediate' });
    expect(outcome.version).toBe(1);
    const expected = Object.fromEntries(Object.entries(FILES).map(([name, body]) => [name, sha256Hex(body)]));
    expect(await unitDigests(host2, 'copy')).toEqual(expected);
    for (const [name, body] of Object.entries(FILES)) {
      const sha = sha256Hex(body);
      expect({ name, found: (await host2.store.findArtifacts('sha256', [sha])).length }).toEqual({ name, found: 1 });
      const file = host2.storage.pathFor(sha);
      expect(existsSync(file)).toBe(true);
      expect(readFileSync(file).equals(body)).toBe(true);
    }
    // the source still has them, too
    expect(await unitDigests(host, 'src')).toEqual(expected);
  });
});
