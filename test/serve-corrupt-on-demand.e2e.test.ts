/**
 * An on_demand artifact whose upstream bytes are wrong (other bytes of the right size, a longer
 * body, a shorter body): the client's download fails visibly (an error status, or a body cut
 * before its Content-Length), nothing is stored, and once upstream is right again the next
 * request gets the right bytes and stores them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Host } from '@tributary/core';
import {
  curl,
  patternBytes,
  request,
  serveFileRepo,
  sha256Hex,
  syncFileRepo,
  waitFor,
  withManifest,
  type Files,
  type RunningApp,
  type ServedFileRepo,
  type Upstream,
} from './fixtures/serve/serve-harness';

/** Above the downloader's in-memory limit (256 KiB): the body streams to the client as it lands. */
const LARGE = 1024 * 1024 + 17;
/** Below it: the body is verified whole before a byte goes out. */
const SMALL = 10 * 1024 + 3;

const FILES: Files = {
  'large-same-size.bin': patternBytes(LARGE, 11),
  'large-longer.bin': patternBytes(LARGE, 12),
  'large-shorter.bin': patternBytes(LARGE, 13),
  'small-same-size.bin': patternBytes(SMALL, 14),
  'small-longer.bin': patternBytes(SMALL, 15),
  'small-shorter.bin': patternBytes(SMALL, 16),
};

function corrupted(kind: string, good: Buffer): Buffer {
  switch (kind) {
    case 'same-size': {
      const bad = Buffer.from(good);
      bad[bad.length - 1] ^= 0xff; // only the last byte differs: nothing but the digest can tell
      bad[1000] ^= 0xff;
      return bad;
    }
    case 'longer':
      return Buffer.concat([good, Buffer.from('0123456789')]);
    case 'shorter':
      return good.subarray(0, good.length - 10);
    default:
      throw new Error(kind);
  }
}

describe('content app: a corrupted on-demand artifact is never served whole nor stored', () => {
  let repo: ServedFileRepo;
  let home: string;
  let upstream: Upstream;
  let host: Host;
  let served: RunningApp;
  let base: string;

  beforeAll(async () => {
    repo = await serveFileRepo(FILES, { policy: 'on_demand', homePrefix: 'serve-corrupt-' });
    ({ home, upstream, host, served, base } = repo);
  });
  afterAll(() => repo?.close());

  async function expectNotStored(sha: string): Promise<void> {
    expect(await host.store.findArtifacts('sha256', [sha])).toEqual([]);
    expect(existsSync(host.storage.pathFor(sha))).toBe(false);
  }

  /** A failed download as a client sees it: an error status, or a 200 whose body stops short of its Content-Length. */
  function expectFailedDownload(result: Awaited<ReturnType<typeof request>>, good: Buffer): void {
    if (result.status === 200) {
      const declared = Number(result.headers['content-length']);
      expect(declared).toBe(good.length);
      expect(result.complete).toBe(false);
      expect(result.body.length).toBeLessThan(declared);
      // what did arrive is a prefix of what upstream sent, never passed off as the file
      expect(sha256Hex(result.body)).not.toBe(sha256Hex(good));
    } else {
      expect(result.status).toBeGreaterThanOrEqual(500);
    }
  }

  describe.each(['large', 'small'])('%s file', (size) => {
    it.each(['same-size', 'longer', 'shorter'])('%s wrong body', async (kind) => {
      const name = `${size}-${kind}.bin`;
      const good = FILES[name]!;
      const sha = sha256Hex(good);
      const url = `${base}${name}`;
      upstream.override(name, corrupted(kind, good));

      // curl: the transfer fails (an HTTP error with --fail, or a body cut short)
      const out = path.join(home, `${name}.curl`);
      const viaCurl = await curl(['--fail', '--output', out, '--write-out', '%{http_code} %{size_download}', url]);
      expect(viaCurl.code).not.toBe(0);
      const [status, downloaded] = viaCurl.stdout.split(' ').map(Number);
      if (status === 200) expect(downloaded).toBeLessThan(good.length);
      await expectNotStored(sha);

      // node's http client: the response is an error, or is cut before its declared length
      let release: (() => void) | undefined;
      if (size === 'large' && kind === 'same-size') {
        // upstream holds the second half until the client has bytes of the first: the body is
        // streaming when the digest fails, so the client must see it cut, not completed
        const gate = new Promise<void>((resolve) => (release = resolve));
        const bad = corrupted(kind, good);
        upstream.script(name, async (res) => {
          res.write(bad.subarray(0, 512 * 1024));
          await gate;
          res.end(bad.subarray(512 * 1024));
        });
      }
      const viaNode = await request(url, { onData: () => release?.() });
      upstream.script(name, undefined);
      expectFailedDownload(viaNode, good);
      if (release) {
        expect(viaNode.status).toBe(200);
        expect(viaNode.body.length).toBeGreaterThan(0);
        expect(viaNode.body.length).toBeLessThan(good.length);
      }
      await expectNotStored(sha);
      // each request tried upstream again (nothing bad was kept to be served later)
      expect(upstream.count(name)).toBeGreaterThanOrEqual(2);

      // upstream fixed: the next request gets the right bytes, and they are stored
      upstream.override(name, undefined);
      const fixed = await request(url);
      expect([fixed.status, fixed.complete]).toEqual([200, true]);
      expect(fixed.body.equals(good)).toBe(true);
      const [record] = await host.store.findArtifacts('sha256', [sha]);
      expect(record).toMatchObject({ sha256: sha, size: good.length });
      expect(readFileSync(host.storage.pathFor(sha)).equals(good)).toBe(true);
      // served from storage from now on
      const requestsBefore = upstream.count(name);
      const again = await request(url);
      expect(again.body.equals(good)).toBe(true);
      expect(upstream.count(name)).toBe(requestsBefore);
    });
  });

  it.each([
    ['answers 404 (the file is gone upstream)', 'gone'],
    ['declares a Content-Length other than the size', 'shorter'],
    ['resets the connection on every attempt', 'reset'],
  ])('upstream %s: a 502 (Bad Gateway), with or without a Range header', async (_what, fault) => {
    // Such a failure is known before the first byte of the body. The Range path (whole artifact
    // first) answers it 502, as it should; the streaming path (no Range) must too, rather than
    // let it reach the generic error handler, which answers 500 "server error".
    // A file no earlier case fetched, in a new version of the repository:
    const name = `fresh-${fault}.bin`;
    const fresh = patternBytes(SMALL, { gone: 91, shorter: 92, reset: 93 }[fault]!);
    upstream.setFiles(withManifest({ ...FILES, [name]: fresh }));
    await syncFileRepo(host, 'repo', upstream.urlFor('PULP_MANIFEST'), { policy: 'on_demand' });
    if (fault === 'gone') upstream.setFiles(withManifest(FILES));
    else if (fault === 'shorter') upstream.override(name, corrupted('shorter', fresh));
    else upstream.script(name, async (res) => void res.destroy());
    const url = `${base}${name}`;
    // the distribution follows the latest version: wait until it serves the new file
    await waitFor(async () => (await request(url, { method: 'HEAD' })).status === 200, 'the new version to be served');
    const ranged = await request(url, { headers: { range: 'bytes=0-9' } });
    const whole = await request(url);
    upstream.override(name, undefined);
    upstream.script(name, undefined);
    expect({ ranged: ranged.status, whole: whole.status }).toEqual({ ranged: 502, whole: 502 });
    expect(whole.body.toString()).toContain(`the upstream copy of '${name}' could not be fetched`);
    await expectNotStored(sha256Hex(fresh));
  });

  it('no staged, partial or temporary file of a failed fetch is left behind', () => {
    const list = (dir: string) => (existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name)) : []);
    expect(list(path.join(home, 'storage', 'artifacts')).filter((n) => n.endsWith('.part'))).toEqual([]);
    expect(list(path.join(home, 'storage', 'tmp'))).toEqual([]);
  });

  it('the failures were logged as events naming the path', () => {
    const failed = served.events.filter((e) => e.level === 'error');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((e) => typeof e.fields['path'] === 'string')).toBe(true);
  });
});
