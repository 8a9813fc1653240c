/**
 * The content app against hostile or malformed requests: traversal in every spelling, encoded
 * separators, NUL, backslashes, empty segments, over-long paths, malformed escapes, impossible
 * ranges, other methods, a repository deleted while its distribution is served. Each is a 4xx,
 * none returns a file placed outside storage, and the server keeps answering.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Host } from '@tributary/core';
import {
  openHost,
  rawRequest,
  request,
  startApp,
  startUpstream,
  syncFileRepo,
  waitFor,
  withManifest,
  type Files,
  type RunningApp,
  type Upstream,
} from './fixtures/serve/serve-harness';

const SECRET = 'TOP-SECRET-5b1f0c9e: never served';

const FILES: Files = {
  'a.txt': Buffer.from('alpha\n'),
  'dir/b.txt': Buffer.from('bravo\n'),
  'secret.txt': Buffer.from('this secret.txt is published on purpose\n'),
};

describe('content app: bad input', () => {
  let home: string;
  /** A directory outside storage (made now: the table of targets below names it). */
  const outside = mkdtempSync(path.join(os.tmpdir(), 'serve-bad-outside-'));
  let upstream: Upstream;
  let host: Host;
  let served: RunningApp;

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'serve-bad-'));
    upstream = await startUpstream(withManifest(FILES));
    host = await openHost(home);
    await syncFileRepo(host, 'repo', upstream.urlFor('PULP_MANIFEST'), { policy: 'immediate' });
    await syncFileRepo(host, 'doomed', upstream.urlFor('PULP_MANIFEST'), { policy: 'immediate' });
    await host.distributions.create('dist', { repository: 'repo', basePath: 'repo' });
    await host.distributions.create('doomed', { repository: 'doomed', basePath: 'doomed' });
    // files a traversal would reach: beside storage, in the storage root, in storage's parent's parent, in the working dir
    for (const dir of [home, path.join(home, 'storage'), path.dirname(home), outside]) writeFileSync(path.join(dir, 'secret.txt'), SECRET);
    mkdirSync(path.join(home, 'storage', 'artifacts'), { recursive: true });
    writeFileSync(path.join(home, 'storage', 'artifacts', 'secret.txt'), SECRET);
    served = await startApp(host, { cacheTtlMs: 20 });
  });
  afterAll(async () => {
    await served?.close();
    await host?.close();
    await upstream?.close();
    rmSync(path.join(path.dirname(home), 'secret.txt'), { force: true });
    rmSync(home, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  async function stillServes(): Promise<void> {
    const ok = await request(`${served.origin}/content/repo/a.txt`);
    expect([ok.status, ok.body.toString()]).toEqual([200, 'alpha\n']);
  }

  const traversals: string[] = [
    '/content/repo/../secret.txt',
    '/content/repo/../../secret.txt',
    '/content/repo/../../../secret.txt',
    '/content/repo/dir/../../secret.txt',
    '/content/../secret.txt',
    '/content/repo/./a.txt',
    '/content/repo/%2e%2e/secret.txt',
    '/content/repo/%2E%2E/%2E%2E/secret.txt',
    '/content/repo/.%2e/secret.txt',
    '/content/repo/%2e./secret.txt',
    '/content/repo/%2e/a.txt',
    '/content/%2e%2e/secret.txt',
    '/content/repo/..%2fsecret.txt',
    '/content/repo/..%2F..%2Fsecret.txt',
    '/content/repo/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/content/repo/dir%2Fb.txt',
    '/content/repo%2Fa.txt',
    '/content/repo/%2Fetc%2Fpasswd',
    `/content/repo/%2F${encodeURIComponent(outside.slice(1))}%2Fsecret.txt`,
    '/content/repo/a.txt%00',
    '/content/repo/%00',
    '/content/repo/a.txt%00.html',
    '/content/repo/..%5Csecret.txt',
    '/content/repo/..%5C..%5Csecret.txt',
    '/content/repo/dir%5Cb.txt',
    '/content/repo/%5C',
    '/content/repo//a.txt',
    '/content//repo/a.txt',
    '/content/repo/dir//b.txt',
    '/content/repo/%0aa.txt',
    '/content/repo/a%01.txt',
    '/content/repo/a.txt%7F',
  ];

  it.each(traversals)('%s: 400, nothing outside storage', async (target) => {
    for (const method of ['GET', 'HEAD']) {
      const answer = await rawRequest(served.port, target, method);
      expect({ target, method, status: answer.status }).toEqual({ target, method, status: 400 });
      expect(answer.text).not.toContain(SECRET);
    }
    await stillServes();
  });

  it.each(['/content/repo/..\\secret.txt', '/content/repo/dir\\b.txt', '/content/repo/\\..\\..\\secret.txt'])('raw backslash %s: 4xx, nothing outside storage', async (target) => {
    const answer = await rawRequest(served.port, target);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(answer.text).not.toContain(SECRET);
    await stillServes();
  });

  it('the published secret.txt (a file of the repository) is served, and only it', async () => {
    const published = await request(`${served.origin}/content/repo/secret.txt`);
    expect([published.status, published.body.toString()]).toEqual([200, FILES['secret.txt']!.toString()]);
    const withQuery = await rawRequest(served.port, '/content/repo/a.txt?../../secret.txt');
    expect(withQuery.status).toBe(200);
    expect(withQuery.text).toContain('alpha');
    expect(withQuery.text).not.toContain(SECRET);
  });

  it.each(['/content/repo/%zz', '/content/repo/%', '/content/repo/a%2', '/content/repo/%E0%A4%A', '/content/repo/%C0%AE%C0%AE/secret.txt', '/content/repo/%ff%fe', '/content/%zz/a.txt'])(
    'malformed percent-encoding %s: 400',
    async (target) => {
      const answer = await rawRequest(served.port, target);
      expect({ target, status: answer.status }).toEqual({ target, status: 400 });
      expect(answer.text).not.toContain(SECRET);
      await stillServes();
    },
  );

  it('a 5,000-character path: 414 or 400', async () => {
    const answer = await rawRequest(served.port, `/content/repo/${'a'.repeat(5000)}`);
    expect([400, 414]).toContain(answer.status);
    const encoded = await rawRequest(served.port, `/content/repo/${'%41'.repeat(1700)}`);
    expect([400, 414]).toContain(encoded.status);
    await stillServes();
  });

  it("a 20,000-character path: a 4xx (Node's own header limit), and the server still works", async () => {
    const answer = await rawRequest(served.port, `/content/repo/${'a'.repeat(20_000)}`);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    await stillServes();
  });

  it('an unknown base path: 404', async () => {
    for (const target of ['/content/nope/a.txt', '/content/nope/', '/content/repo2/a.txt', '/content/rep/a.txt', '/content/a.txt']) {
      expect({ target, status: (await rawRequest(served.port, target)).status }).toEqual({ target, status: 404 });
    }
    await stillServes();
  });

  it('Range: bytes=999999999- is a 416 naming the size', async () => {
    const answer = await request(`${served.origin}/content/repo/a.txt`, { headers: { range: 'bytes=999999999-' } });
    expect(answer.status).toBe(416);
    expect(answer.headers['content-range']).toBe('bytes */6');
    // malformed or multiple ranges: the whole file
    for (const range of ['bytes=abc', 'items=0-1', 'bytes=0-1,3-4', 'bytes=--1']) {
      const whole = await request(`${served.origin}/content/repo/a.txt`, { headers: { range } });
      expect({ range, status: whole.status, body: whole.body.toString() }).toEqual({ range, status: 200, body: 'alpha\n' });
    }
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH'])('%s: 404 or 405, and nothing changes', async (method) => {
    const answer = await request(`${served.origin}/content/repo/a.txt`, { method });
    expect([404, 405]).toContain(answer.status);
    expect((await request(`${served.origin}/content/repo/`, { method })).status).toBeGreaterThanOrEqual(404);
    await stillServes();
  });

  it('names with HTML and non-ASCII characters: served by their encoded path, listed escaped', async () => {
    const odd: Files = {
      '<img src=x onerror=alert(1)>.txt': Buffer.from('img\n'),
      "a&b 'q\".txt": Buffer.from('amp\n'),
      'ünï cödé/ñ.txt': Buffer.from('unicode\n'),
      '%41.txt': Buffer.from('percent\n'),
    };
    const oddUpstream = await startUpstream(withManifest(odd));
    try {
      await syncFileRepo(host, 'odd', oddUpstream.urlFor('PULP_MANIFEST'), { policy: 'on_demand' });
      await host.distributions.create('odd', { repository: 'odd', basePath: 'odd' });
      await waitFor(async () => (await request(`${served.origin}/content/odd/`)).status === 200, 'the distribution to be seen');
      for (const [name, body] of Object.entries(odd)) {
        const encoded = name.split('/').map(encodeURIComponent).join('/');
        const answer = await request(`${served.origin}/content/odd/${encoded}`);
        expect({ name, status: answer.status, body: answer.body.toString() }).toEqual({ name, status: 200, body: body.toString() });
      }
      // '%41.txt' is not 'A.txt'
      expect((await request(`${served.origin}/content/odd/A.txt`)).status).toBe(404);
      const page = (await request(`${served.origin}/content/odd/`)).body.toString();
      expect(page).not.toContain('<img');
      expect(page).not.toContain('a&b');
      expect(page).toContain('&#60;img src=x onerror=alert(1)&#62;.txt');
      expect(page).toContain(`href="${encodeURIComponent('<img src=x onerror=alert(1)>.txt')}"`);
      expect(page).toContain(`href="${encodeURIComponent('ünï cödé')}/"`);
      expect(page).toContain(`href="${encodeURIComponent('%41.txt')}"`);
      // every href of the page leads to its file
      for (const href of [...page.matchAll(/href="([^"]+\.txt)"/g)].map((m) => m[1]!)) {
        expect({ href, status: (await request(`${served.origin}/content/odd/${href}`)).status }).toEqual({ href, status: 200 });
      }
    } finally {
      await oddUpstream.close();
    }
  });

  it('a repository deleted while its distribution is served: 404 from then on, other distributions unaffected', async () => {
    const before = await request(`${served.origin}/content/doomed/a.txt`);
    expect([before.status, before.body.toString()]).toEqual([200, 'alpha\n']);
    await host.deleteRepository('doomed');
    await waitFor(async () => (await request(`${served.origin}/content/doomed/a.txt`)).status !== 200, 'the deletion to show');
    for (const target of ['/content/doomed/a.txt', '/content/doomed/PULP_MANIFEST', '/content/doomed/', '/content/doomed/dir/b.txt']) {
      expect({ target, status: (await request(`${served.origin}${target}`)).status }).toEqual({ target, status: 404 });
    }
    await stillServes();
    const listing = await request(`${served.origin}/content/`);
    expect(listing.status).toBe(200);
    expect(listing.body.toString()).toContain('href="repo/"');
  });
});
