import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCodes, isTributaryError, type ErrorCode, type TributaryError } from '@tributary/plugin-api';
import { ArtifactStorage } from '../src/storage/artifact-storage';
import { SmallFileWriter } from '../src/storage/small-file-writer';
import { DOWNLOAD_RETRY_CHANNEL, DOWNLOAD_URL_FAILED_CHANNEL, Downloader, redactUrl, type RemoteOptions } from '../src/download/index';
import { FaultServer, ForwardProxy } from './support/download-fault-server';

const hash = (algorithm: string, data: Buffer | string): string => createHash(algorithm).update(data).digest('hex');
const FAST: RemoteOptions = { retries: 2, backoffMs: 1 };
/**
 * The idle timeout of a test whose healthy answers (headers before a stalled body, a redirect, a
 * small file) must come before it: seconds, so that a busy machine cannot make them look stalled.
 */
const HEALTHY_IDLE_MS = 2_000;

async function failure(promise: Promise<unknown>, code: ErrorCode): Promise<TributaryError> {
  try {
    await promise;
  } catch (error) {
    if (!isTributaryError(error, code)) throw error;
    return error;
  }
  throw new Error(`expected ${code}, but the download succeeded`);
}

/** Everything an error exposes: message, details, JSON, stack, and the same for its causes. */
function exposed(error: unknown): string {
  const parts: string[] = [];
  for (let current = error as Record<string, unknown> | undefined, depth = 0; current && depth < 5; depth++) {
    parts.push(String(current['message']), String(current['stack']), JSON.stringify(current['details'] ?? {}));
    if (isTributaryError(current)) parts.push(JSON.stringify(current));
    current = current['cause'] as Record<string, unknown> | undefined;
  }
  return parts.join('\n');
}

describe('Downloader', () => {
  let base: string;
  let storage: ArtifactStorage;
  let scopeDir: string;
  let server: FaultServer;
  const closers: (() => Promise<void>)[] = [];

  const downloader = (options: RemoteOptions = FAST): Downloader => {
    const created = new Downloader(storage, 'sync-t', options);
    closers.push(() => created.close());
    return created;
  };
  /** What the scope holds on disk: its scratch directory, and bodies staged beside their content address. */
  const scopeFiles = async (): Promise<string[]> => {
    const artifacts = await fs.readdir(path.join(storage.root, 'artifacts'), { recursive: true }).catch(() => [] as string[]);
    return [...(await fs.readdir(scopeDir)), ...artifacts.filter((name) => name.endsWith('.part'))];
  };

  beforeEach(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-download-'));
    storage = new ArtifactStorage(path.join(base, 'storage'));
    await storage.init();
    scopeDir = await storage.createScope('sync-t');
    server = await FaultServer.start();
    closers.push(() => server.close());
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await fs.rm(base, { recursive: true, force: true });
  });

  const serveBytes = (body: Buffer) => (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  };

  test('downloads a small file into the scope, staged beside its content address, computing sha256 and every algorithm the expectation names', async () => {
    const body = Buffer.from('hello tributary');
    server.route('/a.txt', serveBytes(body));
    const d = downloader();
    const digests = { sha256: hash('sha256', body), md5: hash('md5', body), sha1: hash('sha1', body), sha512: hash('sha512', body) };
    const file = await d.download(server.url('/a.txt'), { size: body.length, digests: { ...digests, md5: digests.md5.toUpperCase() } });
    expect(path.dirname(file.path)).toBe(path.dirname(storage.pathFor(digests.sha256)));
    expect(storage.isStagedFor('sync-t', file.path)).toBe(true);
    expect(await fs.readFile(file.path)).toEqual(body);
    expect(file).toMatchObject({ size: body.length, digests });
    expect(d.stats).toEqual({ requests: 1, retries: 0, bytes: body.length, files: 1 });
    const stored = await storage.adoptDownloaded(file);
    expect(await storage.has(stored.sha256)).toBe(true);
  });

  test('streams a large body to disk and verifies it', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    server.route('/big.bin', (_req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      for (let offset = 0; offset < body.length; offset += 64 * 1024) res.write(body.subarray(offset, offset + 64 * 1024));
      res.end();
    });
    const file = await downloader().download(server.url('/big.bin'), { size: body.length, digests: { sha256: hash('sha256', body) } });
    expect(path.dirname(file.path)).toBe(scopeDir);
    expect((await fs.readFile(file.path)).equals(body)).toBe(true);
  });

  test('a body of undeclared size that outgrows memory mid-transfer moves to disk with every byte hashed', async () => {
    const body = randomBytes(1536 * 1024 + 5);
    server.route('/chunked.bin', (_req, res) => {
      res.writeHead(200); // no content-length: chunked, size unknown until the end
      for (let offset = 0; offset < body.length; offset += 50 * 1024) res.write(body.subarray(offset, offset + 50 * 1024));
      res.end();
    });
    const digests = { sha256: hash('sha256', body), md5: hash('md5', body) };
    const file = await downloader().download(server.url('/chunked.bin'), { digests });
    expect(file).toMatchObject({ size: body.length, digests });
    expect((await fs.readFile(file.path)).equals(body)).toBe(true);
    const wrong = { sha256: hash('sha256', 'something else') };
    const error = await failure(downloader().download(server.url('/chunked.bin'), { digests: wrong }), ErrorCodes.DIGEST_MISMATCH);
    expect(error.details).toMatchObject({ algorithm: 'sha256', actual: digests.sha256 });
    expect(await scopeFiles()).toEqual([path.basename(file.path)]);
  });

  test('404 fails at once with TRIBUTARY_ERR_HTTP_STATUS and is not retried', async () => {
    const error = await failure(downloader().download(server.url('/missing')), ErrorCodes.HTTP_STATUS);
    expect(error.details['status']).toBe(404);
    expect(server.hitsOf('/missing')).toBe(1);
    expect(await scopeFiles()).toEqual([]);
  });

  test('500s followed by success are retried', async () => {
    const body = Buffer.from('eventually');
    server.route('/flaky', (req, res, hit) => (hit <= 2 ? res.writeHead(500).end('busy') : serveBytes(body)(req, res)));
    const d = downloader();
    const file = await d.download(server.url('/flaky'), { digests: { sha256: hash('sha256', body) } });
    expect(await fs.readFile(file.path)).toEqual(body);
    expect(server.hitsOf('/flaky')).toBe(3);
    expect(d.stats.retries).toBe(2);
  });

  test('500s forever fail after the configured retries, leaving no temp file', async () => {
    server.route('/down', (_req, res) => res.writeHead(503).end());
    const error = await failure(downloader({ retries: 3, backoffMs: 1 }).download(server.url('/down')), ErrorCodes.HTTP_STATUS);
    expect(error.details['status']).toBe(503);
    expect(server.hitsOf('/down')).toBe(4);
    expect(await scopeFiles()).toEqual([]);
  });

  test('429 is retried after the delay its Retry-After asks for', async () => {
    const body = Buffer.from('patience');
    server.route('/limited', (req, res, hit) => (hit === 1 ? res.writeHead(429, { 'retry-after': '1' }).end() : serveBytes(body)(req, res)));
    await downloader().download(server.url('/limited'));
    const [first, second] = server.requests.filter((r) => r.path === '/limited');
    expect(second!.time - first!.time).toBeGreaterThanOrEqual(900);
  });

  test('a connection reset mid-body is retried', async () => {
    const body = randomBytes(64 * 1024);
    server.route('/reset', (req, res, hit) => {
      if (hit > 1) return serveBytes(body)(req, res);
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, 1000), () => res.socket?.resetAndDestroy());
    });
    const file = await downloader().download(server.url('/reset'), { size: body.length });
    expect((await fs.readFile(file.path)).equals(body)).toBe(true);
    expect(server.hitsOf('/reset')).toBe(2);
  });

  test('connection resets on every attempt fail with TRIBUTARY_ERR_NETWORK', async () => {
    server.route('/reset', (_req, res) => {
      res.writeHead(200, { 'content-length': 5000 });
      res.write(Buffer.alloc(1000), () => res.socket?.resetAndDestroy());
    });
    await failure(downloader().download(server.url('/reset')), ErrorCodes.NETWORK);
    expect(server.hitsOf('/reset')).toBe(3);
    expect(await scopeFiles()).toEqual([]);
  });

  test('a truncated body (Content-Length larger than what is sent) fails with TRIBUTARY_ERR_NETWORK', async () => {
    server.route('/truncated', (_req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write(Buffer.alloc(500), () => res.socket?.end());
    });
    await failure(downloader().download(server.url('/truncated')), ErrorCodes.NETWORK);
    expect(server.hitsOf('/truncated')).toBe(3);
    expect(await scopeFiles()).toEqual([]);
  });

  test('a body longer than the expected size is refused without retrying, declared or not', async () => {
    server.route('/declared', serveBytes(Buffer.alloc(2000)));
    server.route('/chunked', (_req, res) => {
      res.writeHead(200);
      res.write(Buffer.alloc(800));
      res.end(Buffer.alloc(800));
    });
    const d = downloader();
    await failure(d.download(server.url('/declared'), { size: 1000 }), ErrorCodes.SIZE_MISMATCH);
    await failure(d.download(server.url('/chunked'), { size: 1000 }), ErrorCodes.SIZE_MISMATCH);
    expect([server.hitsOf('/declared'), server.hitsOf('/chunked')]).toEqual([1, 1]);
    expect(await scopeFiles()).toEqual([]);
  });

  test('a body shorter than the expected size is refused', async () => {
    server.route('/declared', serveBytes(Buffer.alloc(5)));
    server.route('/chunked', (_req, res) => {
      res.writeHead(200);
      res.end(Buffer.alloc(5));
    });
    const d = downloader();
    const declared = await failure(d.download(server.url('/declared'), { size: 10 }), ErrorCodes.SIZE_MISMATCH);
    expect(declared.message).toContain('10');
    const streamed = await failure(d.download(server.url('/chunked'), { size: 10 }), ErrorCodes.SIZE_MISMATCH);
    expect(streamed.details).toMatchObject({ expected: 10, actual: 5 });
    expect(await scopeFiles()).toEqual([]);
  });

  test('maxBytes stops a body of unknown length', async () => {
    server.route('/endless', (_req, res) => {
      res.writeHead(200);
      for (let i = 0; i < 20; i++) res.write(Buffer.alloc(8192));
      res.end();
    });
    await failure(downloader().download(server.url('/endless'), { maxBytes: 10_000 }), ErrorCodes.SIZE_MISMATCH);
    expect(await scopeFiles()).toEqual([]);
  });

  test('a digest mismatch names the algorithm and is not retried', async () => {
    const body = Buffer.from('tampered');
    server.route('/f', serveBytes(body));
    const wrong = hash('md5', 'original');
    const error = await failure(
      downloader().download(server.url('/f'), { digests: { sha256: hash('sha256', body), md5: wrong } }),
      ErrorCodes.DIGEST_MISMATCH,
    );
    expect(error.details).toMatchObject({ algorithm: 'md5', expected: wrong, actual: hash('md5', body) });
    expect(server.hitsOf('/f')).toBe(1);
    expect(await scopeFiles()).toEqual([]);
  });

  test('a server that stalls after the headers times out with TRIBUTARY_ERR_TIMEOUT', async () => {
    server.route('/stall', (_req, res) => {
      res.writeHead(200, { 'content-length': 100 });
      res.write(Buffer.alloc(10));
    });
    // the headers must come before the idle timeout for the attempt to time out in the body
    const error = await failure(
      downloader({ retries: 1, backoffMs: 1, idleTimeoutMs: HEALTHY_IDLE_MS }).download(server.url('/stall')),
      ErrorCodes.TIMEOUT,
    );
    expect(error.details['phase']).toBe('idle');
    expect(server.hitsOf('/stall')).toBe(2);
    expect(await scopeFiles()).toEqual([]);
  });

  test('headers that never come time out with TRIBUTARY_ERR_TIMEOUT', async () => {
    server.route('/silent', () => undefined);
    const error = await failure(
      downloader({ retries: 0, headersTimeoutMs: 150 }).download(server.url('/silent')),
      ErrorCodes.TIMEOUT,
    );
    expect(error.details['phase']).toBe('headers');
  });

  test('a slow but steady body outlives idleTimeoutMs', async () => {
    // a chunk every 50 ms for 2.5 s against a 2 s idle timeout: the transfer outlasts the timeout
    // whatever the machine's speed (timers never fire early), and a busy machine may hold a chunk
    // back by nearly two seconds before the silence counts as idle
    const chunks = 51;
    let started = 0;
    let finished = 0;
    server.route('/trickle', (_req, res) => {
      started = Date.now();
      res.writeHead(200, { 'content-length': chunks * 100 });
      let sent = 0;
      const timer = setInterval(() => {
        res.write(Buffer.alloc(100, sent));
        if (++sent === chunks) {
          clearInterval(timer);
          res.end(() => (finished = Date.now()));
        }
      }, 50);
      res.on('close', () => clearInterval(timer));
    });
    const idleTimeoutMs = HEALTHY_IDLE_MS;
    const file = await downloader({ retries: 0, idleTimeoutMs }).download(server.url('/trickle'), { size: chunks * 100 });
    expect(file.size).toBe(chunks * 100);
    expect(server.hitsOf('/trickle')).toBe(1);
    // Only silence is limited, never the duration of a progressing transfer.
    expect(finished - started).toBeGreaterThan(idleTimeoutMs);
  });

  test('the idle timeout covers the wait for the headers too, whatever headersTimeoutMs says', async () => {
    server.route('/never', () => undefined);
    // the idle timer's error names the idle timeout (undici's headers timeout, two minutes away, would not)
    const error = await failure(
      downloader({ retries: 1, backoffMs: 1, idleTimeoutMs: 150, headersTimeoutMs: 120_000 }).download(server.url('/never')),
      ErrorCodes.TIMEOUT,
    );
    expect(error.details).toMatchObject({ phase: 'headers', idleTimeoutMs: 150 });
    expect(server.hitsOf('/never')).toBe(2);
  });

  test('a body waiting for a disk that never drains still times out after idleTimeoutMs', async () => {
    const size = 4 * 1024 * 1024;
    server.route('/to-stuck-disk', (_req, res) => {
      res.writeHead(200, { 'content-length': size });
      res.end(Buffer.alloc(size, 7));
    });
    // a writer thread whose writes never complete (the transfer pauses the socket and waits) until
    // the download gives the file up: then it answers everything, as a disk coming back would
    const stuckThread = path.join(base, 'stuck-writer-thread.js');
    await fs.writeFile(
      stuckThread,
      `const { parentPort } = require('node:worker_threads');
      let held = [];
      parentPort.on('message', (jobs) => {
        held.push(...jobs);
        if (!jobs.some((job) => job.op === 'abort')) return;
        parentPort.postMessage({ answers: held.map((job) => [job.id]), memory: [] });
        held = [];
      });`,
    );
    const stuckWriter = new SmallFileWriter({ script: stuckThread, startAfter: 0 });
    await stuckWriter.start();
    const stuckStorage = new ArtifactStorage(path.join(base, 'stuck-storage'), stuckWriter);
    await stuckStorage.init();
    await stuckStorage.createScope('sync-stuck');
    closers.push(() => stuckStorage.dropScope('sync-stuck'));
    // the headers (and the first bytes) must come before the idle timeout for it to end the body's wait
    const stuck = new Downloader(stuckStorage, 'sync-stuck', { retries: 0, idleTimeoutMs: HEALTHY_IDLE_MS });
    closers.push(() => stuck.close());
    const error = await failure(stuck.download(server.url('/to-stuck-disk'), { size }), ErrorCodes.TIMEOUT);
    expect(error.details['phase']).toBe('idle');
  }, 30_000);

  test('a failed transfer keeps its slot for its retries: a stalled file\'s attempts never queue behind other transfers', async () => {
    const stall = (_req: unknown, res: import('node:http').ServerResponse): void => {
      res.writeHead(200, { 'content-length': 100 });
      res.write(Buffer.alloc(10));
    };
    server.route('/first', stall).route('/second', stall).route('/third', stall);
    const d = downloader({ concurrency: 1, retries: 2, backoffMs: 5, idleTimeoutMs: 100 });
    const results = await Promise.allSettled(['/first', '/second', '/third'].map((p) => d.download(server.url(p))));
    expect(results.map((r) => r.status === 'rejected' && isTributaryError(r.reason, ErrorCodes.TIMEOUT))).toEqual([true, true, true]);
    // every file's three attempts in a row: a retry waiting its turn would interleave them
    expect(server.requests.map((r) => r.path)).toEqual(['/first', '/first', '/first', '/second', '/second', '/second', '/third', '/third', '/third']);
  }, 30_000);

  test('slots kept for retries across redirects are all given back: later transfers to either origin still go', async () => {
    const other = await FaultServer.start();
    closers.push(() => other.close());
    const stall = (_req: unknown, res: import('node:http').ServerResponse): void => {
      res.writeHead(200, { 'content-length': 100 });
      res.write(Buffer.alloc(10));
    };
    // the first attempt is redirected to the other origin and stalls there; the retry stalls here
    server.route('/flip', (req, res, hit) => (hit === 1 ? res.writeHead(302, { location: other.url('/stall') }).end() : stall(req, res)));
    other.route('/stall', stall);
    server.route('/ok', serveBytes(Buffer.from('here')));
    other.route('/ok', serveBytes(Buffer.from('there')));
    // the redirect and the later files must come before the idle timeout
    const d = downloader({ concurrency: 1, retries: 2, backoffMs: 1, idleTimeoutMs: HEALTHY_IDLE_MS });
    await failure(d.download(server.url('/flip')), ErrorCodes.TIMEOUT);
    expect([server.hitsOf('/flip'), other.hitsOf('/stall')]).toEqual([3, 1]);
    const [here, there] = await Promise.all([d.download(server.url('/ok')), d.download(other.url('/ok'))]);
    expect([here.size, there.size]).toEqual([4, 5]);
  });

  describe('file: urls and the feed', () => {
    const httpFeed = { feedUrl: 'http://repo.example/el9/' };
    const scoped = (scope: { feedUrl?: string }, options: RemoteOptions = FAST): Downloader => {
      const created = new Downloader(storage, 'sync-t', options, scope);
      closers.push(() => created.close());
      return created;
    };

    test('a sync from an http feed refuses file: urls with TRIBUTARY_ERR_PATH_UNSAFE before any filesystem call, alike for files that exist and files that do not', async () => {
      const source = path.join(base, 'secret.txt');
      const body = Buffer.alloc(98_765, 's');
      await fs.writeFile(source, body);
      const nodeFs = jest.requireActual<typeof import('node:fs')>('node:fs');
      const nodeFsPromises = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises');
      const stat = jest.spyOn(nodeFsPromises, 'stat');
      const read = jest.spyOn(nodeFs, 'createReadStream');
      try {
        const d = scoped(httpFeed);
        const present = await failure(d.download(pathToFileURL(source).href, { size: body.length, digests: { sha256: hash('sha256', body) } }), ErrorCodes.PATH_UNSAFE);
        const wrong = await failure(d.download(pathToFileURL(source).href, { size: 1, digests: { sha256: hash('sha256', 'x') } }), ErrorCodes.PATH_UNSAFE);
        const absent = await failure(d.download(pathToFileURL(path.join(base, 'nothere.txt')).href), ErrorCodes.PATH_UNSAFE);
        const upper = await failure(d.download(`FILE://${pathToFileURL(source).pathname}`), ErrorCodes.PATH_UNSAFE);
        expect(stat).not.toHaveBeenCalled();
        expect(read).not.toHaveBeenCalled();
        for (const error of [present, wrong, absent, upper]) {
          expect(exposed(error)).not.toMatch(/\b98765\b|ENOENT/);
          expect(error.details).toMatchObject({ feedScheme: 'http:' });
        }
        expect(present.message).toBe(wrong.message);
        expect(absent.message.replace('nothere.txt', 'secret.txt')).toBe(present.message);
        expect(present.message).toContain(pathToFileURL(source).href);
        expect(d.stats).toMatchObject({ requests: 0, retries: 0, files: 0 });
      } finally {
        stat.mockRestore();
        read.mockRestore();
      }
      expect(await scopeFiles()).toEqual([]);
    });

    test('a refused file: url ends the download: no mirror after it is tried', async () => {
      server.route('/mirror', serveBytes(Buffer.from('from the mirror')));
      const error = await failure(scoped(httpFeed).download([pathToFileURL(path.join(base, 'x')).href, server.url('/mirror')]), ErrorCodes.PATH_UNSAFE);
      expect(error.details['url']).toMatch(/^file:/);
      expect(server.hitsOf('/mirror')).toBe(0);
    });

    test('http and https urls on any host stay allowed for an http feed; a file: feed reads local files', async () => {
      server.route('/elsewhere', serveBytes(Buffer.from('mirror on another host')));
      const file = await scoped({ feedUrl: 'https://other.example/repo/' }).download(server.url('/elsewhere'));
      expect(await fs.readFile(file.path, 'utf8')).toBe('mirror on another host');
      const source = path.join(base, 'local.txt');
      await fs.writeFile(source, 'local bytes');
      const local = await scoped({ feedUrl: pathToFileURL(path.join(base, 'PULP_MANIFEST')).href }).download(pathToFileURL(source).href);
      expect(await fs.readFile(local.path, 'utf8')).toBe('local bytes');
      // without a feed (an export of what a sync accepted) file: urls are read as before
      expect((await scoped({}).download(pathToFileURL(source).href)).size).toBe(11);
    });
  });

  describe('credentials', () => {
    const user = 'bob';
    const password = 'hunter2-Pa55';
    const token = Buffer.from(`${user}:${password}`).toString('base64');
    const events: unknown[] = [];
    const record = (message: unknown): void => void events.push(message);

    beforeEach(() => {
      events.length = 0;
      subscribe(DOWNLOAD_RETRY_CHANNEL, record);
      subscribe(DOWNLOAD_URL_FAILED_CHANNEL, record);
      server.route('/private', (req, res) =>
        req.headers.authorization === `Basic ${token}` ? serveBytes(Buffer.from('secret stuff'))(req, res) : res.writeHead(401).end(),
      );
      server.route('/private-down', (_req, res) => res.writeHead(500).end());
    });

    afterEach(() => {
      unsubscribe(DOWNLOAD_RETRY_CHANNEL, record);
      unsubscribe(DOWNLOAD_URL_FAILED_CHANNEL, record);
    });

    const assertNoSecret = (text: string): void => {
      expect(text).not.toContain(password);
      expect(text).not.toContain(token);
      expect(text).not.toContain(encodeURIComponent(password));
    };

    test('basic auth from the options and from url userinfo both work', async () => {
      const file = await downloader({ ...FAST, username: user, password }).download(server.url('/private'));
      expect(await fs.readFile(file.path, 'utf8')).toBe('secret stuff');
      const withUserinfo = server.url('/private').replace('://', `://${user}:${encodeURIComponent(password)}@`);
      const again = await downloader().download(withUserinfo);
      expect(await fs.readFile(again.path, 'utf8')).toBe('secret stuff');
    });

    test('the password never appears in errors, their details, or the retry and failure events', async () => {
      const wrong = await failure(
        downloader({ ...FAST, username: user, password: `${password}-wrong` }).download(server.url('/private')),
        ErrorCodes.HTTP_STATUS,
      );
      expect(wrong.details['status']).toBe(401);
      expect(exposed(wrong)).not.toContain(`${password}-wrong`);

      const userinfo = (p: string): string => server.url(p).replace('://', `://${user}:${encodeURIComponent(password)}@`);
      const d = downloader({ ...FAST, username: user, password, headers: { Authorization: `Bearer ${token}` } });
      const errors = [
        await failure(d.download([userinfo('/private-down'), `${userinfo('/private-down')}?token=${password}`]), ErrorCodes.HTTP_STATUS),
        await failure(d.download(`ftp://${user}:${password}@example.org/x`), ErrorCodes.URL_INVALID),
        await failure(d.download(`http://${user}:${password}@127.0.0.1:1/refused`), ErrorCodes.NETWORK),
      ];
      expect(events.length).toBeGreaterThan(0);
      for (const error of errors) assertNoSecret(exposed(error));
      assertNoSecret(JSON.stringify(events));
      expect(JSON.stringify(events)).toContain('/private-down');
    });

    test('redactUrl strips userinfo and secret-looking query values', () => {
      expect(redactUrl(`https://${user}:${password}@mirror.example/p/a.rpm?token=${password}&arch=x86_64`)).toBe(
        'https://mirror.example/p/a.rpm?token=***&arch=x86_64',
      );
      expect(redactUrl(`not a url //${user}:${password}@host`)).not.toContain(password);
    });
  });

  test('several urls are tried in turn until one delivers', async () => {
    const body = Buffer.from('third time lucky');
    server.route('/gone', (_req, res) => res.writeHead(404).end());
    server.route('/broken', (_req, res) => res.writeHead(502).end());
    server.route('/good', serveBytes(body));
    const file = await downloader().download([server.url('/gone'), server.url('/broken'), server.url('/good')], {
      digests: { sha256: hash('sha256', body) },
    });
    expect(await fs.readFile(file.path)).toEqual(body);
    expect([server.hitsOf('/gone'), server.hitsOf('/broken'), server.hitsOf('/good')]).toEqual([1, 3, 1]);
  });

  test('when every url fails, the last url\'s error is thrown and nothing is left', async () => {
    server.route('/gone', (_req, res) => res.writeHead(404).end());
    server.route('/wrong', serveBytes(Buffer.from('not it')));
    const error = await failure(
      downloader().download([server.url('/gone'), server.url('/wrong')], { digests: { sha256: hash('sha256', 'it') } }),
      ErrorCodes.DIGEST_MISMATCH,
    );
    expect(error.details['urlsTried']).toBe(2);
    expect(await scopeFiles()).toEqual([]);
  });

  test('file:// urls are copied with the same verification', async () => {
    const source = path.join(base, 'local file.bin');
    const body = randomBytes(1280 * 1024);
    await fs.writeFile(source, body);
    const d = downloader();
    const file = await d.download(pathToFileURL(source).href, { size: body.length, digests: { sha1: hash('sha1', body) } });
    expect(file.digests).toEqual({ sha256: hash('sha256', body), sha1: hash('sha1', body) });
    expect((await fs.readFile(file.path)).equals(body)).toBe(true);
    expect((await fs.readFile(source)).equals(body)).toBe(true);
    await failure(d.download(pathToFileURL(source).href, { digests: { sha256: hash('sha256', 'x') } }), ErrorCodes.DIGEST_MISMATCH);
    await failure(d.download(pathToFileURL(source).href, { size: 1 }), ErrorCodes.SIZE_MISMATCH);
    const missing = await failure(d.download(pathToFileURL(path.join(base, 'nope')).href), ErrorCodes.NETWORK);
    expect(missing.details['errno']).toBe('ENOENT');
    expect(d.stats.retries).toBe(0);
    expect(await scopeFiles()).toEqual([path.basename(file.path)]);
  });

  test('file:// transfers share the concurrency limit, so the pipeline may keep more downloads outstanding', async () => {
    const sources = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const source = path.join(base, `local-${i}.bin`);
        await fs.writeFile(source, randomBytes(512 * 1024));
        return pathToFileURL(source).href;
      }),
    );
    // count the local reads open at once, where the transfer opens them
    const nodeFs = jest.requireActual<typeof import('node:fs')>('node:fs');
    const original = nodeFs.createReadStream;
    let open = 0;
    let maxOpen = 0;
    const spy = jest.spyOn(nodeFs, 'createReadStream').mockImplementation(((...args: Parameters<typeof original>) => {
      const stream = original(...args);
      maxOpen = Math.max(maxOpen, ++open);
      let done = false;
      const closed = (): void => {
        if (!done) open--;
        done = true;
      };
      stream.once('end', closed).once('close', closed);
      return stream;
    }) as typeof original);
    try {
      const d = downloader({ concurrency: 2 });
      expect(d.transferLimit).toBe(2);
      const files = await Promise.all(sources.map((url) => d.download(url)));
      expect(files).toHaveLength(12);
      expect(maxOpen).toBeLessThanOrEqual(2);
      expect(maxOpen).toBeGreaterThan(0);
    } finally {
      spy.mockRestore();
    }
  });

  test('anything but http, https and file urls is TRIBUTARY_ERR_URL_INVALID', async () => {
    const d = downloader();
    for (const url of ['ftp://example.org/x', 'not a url', 'javascript:alert(1)', 'file://remote-host/etc/passwd']) {
      await failure(d.download(url), ErrorCodes.URL_INVALID);
    }
    await failure(d.download([]), ErrorCodes.URL_INVALID);
  });

  describe('cancellation', () => {
    test('aborting mid-download rejects promptly and removes the partial file', async () => {
      let sent!: () => void;
      const halfway = new Promise<void>((resolve) => (sent = resolve));
      server.route('/huge', (_req, res) => {
        res.writeHead(200, { 'content-length': 8 * 1024 * 1024 });
        res.write(Buffer.alloc(512 * 1024), () => sent());
      });
      const controller = new AbortController();
      const d = downloader({ retries: 3, backoffMs: 1, idleTimeoutMs: 120_000 });
      const download = d.download(server.url('/huge'), { size: 8 * 1024 * 1024 }, controller.signal);
      await halfway;
      while ((await scopeFiles()).length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      controller.abort();
      // Without a prompt abort this would hang on the stalled server until the test times out.
      await failure(download, ErrorCodes.SYNC_CANCELLED);
      expect(await scopeFiles()).toEqual([]);
      expect(server.hitsOf('/huge')).toBe(1);
    }, 10_000);

    test('aborting during a retry backoff rejects at once', async () => {
      let hit!: () => void;
      const first = new Promise<void>((resolve) => (hit = resolve));
      server.route('/down', (_req, res) => {
        res.writeHead(500).end();
        hit();
      });
      const controller = new AbortController();
      const download = downloader({ retries: 5, backoffMs: 600_000 }).download(server.url('/down'), {}, controller.signal);
      await first;
      controller.abort();
      await failure(download, ErrorCodes.SYNC_CANCELLED);
      expect(server.hitsOf('/down')).toBe(1);
    }, 10_000);

    test('aborting while waiting for a connection slot rejects without sending a request', async () => {
      server.route('/hold', () => undefined);
      const d = downloader({ concurrency: 1, retries: 0, headersTimeoutMs: 120_000 });
      const holder = new AbortController();
      const holding = d.download(server.url('/hold'), {}, holder.signal);
      const waiting = new AbortController();
      const queued = d.download(server.url('/hold'), {}, waiting.signal);
      while (server.hitsOf('/hold') === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      waiting.abort();
      await failure(queued, ErrorCodes.SYNC_CANCELLED);
      holder.abort();
      await failure(holding, ErrorCodes.SYNC_CANCELLED);
      expect(server.hitsOf('/hold')).toBe(1);
    }, 10_000);

    test('an already aborted signal sends nothing', async () => {
      server.route('/x', serveBytes(Buffer.from('x')));
      await failure(downloader().download(server.url('/x'), {}, AbortSignal.abort()), ErrorCodes.SYNC_CANCELLED);
      expect(server.hitsOf('/x')).toBe(0);
    });
  });

  test('transfers to one origin never exceed the concurrency limit', async () => {
    // the first answer waits for a second request, so that transfers at once are seen however slow
    // the machine; the others take 20 ms, giving more than three at once every chance to show
    let requests = 0;
    let secondCame!: () => void;
    const second = new Promise<void>((resolve) => (secondCame = resolve));
    server.route('/slow', (_req, res) => {
      const answer = () => res.writeHead(200, { 'content-length': 2 }).end('ok');
      if (++requests === 2) secondCame();
      if (requests === 1) void second.then(answer);
      else setTimeout(answer, 20);
    });
    const d = downloader({ concurrency: 3 });
    await Promise.all(Array.from({ length: 20 }, () => d.download(server.url('/slow'))));
    expect(server.maxInFlight).toBeLessThanOrEqual(3);
    expect(server.maxInFlight).toBeGreaterThan(1);
    expect(d.stats).toMatchObject({ requests: 20, files: 20, bytes: 40 });
  });

  test('redirects are followed; credentials go only to the origin they were given for', async () => {
    const other = await FaultServer.start();
    closers.push(() => other.close());
    other.route('/mirror/a', serveBytes(Buffer.from('mirrored')));
    server.route('/same', (_req, res) => res.writeHead(301, { location: '/a' }).end());
    server.route('/a', serveBytes(Buffer.from('local')));
    server.route('/away', (_req, res) => res.writeHead(302, { location: other.url('/mirror/a') }).end());
    const d = downloader({ ...FAST, username: 'bob', password: 'hunter2' });
    expect(await fs.readFile((await d.download(server.url('/same'))).path, 'utf8')).toBe('local');
    expect(await fs.readFile((await d.download(server.url('/away'))).path, 'utf8')).toBe('mirrored');
    expect(server.requests.find((r) => r.path === '/a')?.headers.authorization).toMatch(/^Basic /);
    expect(other.requests[0]?.headers.authorization).toBeUndefined();
  });

  describe('TLS and proxies', () => {
    let tlsDir: string;
    let key: string;
    let cert: string;

    beforeAll(async () => {
      tlsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-tls-'));
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout', path.join(tlsDir, 'key.pem'), '-out', path.join(tlsDir, 'cert.pem'),
      ], { stdio: 'ignore' });
      key = await fs.readFile(path.join(tlsDir, 'key.pem'), 'utf8');
      cert = await fs.readFile(path.join(tlsDir, 'cert.pem'), 'utf8');
    });

    afterAll(async () => {
      await fs.rm(tlsDir, { recursive: true, force: true });
    });

    async function tlsServer(requireClientCert = false): Promise<FaultServer> {
      const secure = await FaultServer.start({ key, cert, ...(requireClientCert ? { ca: cert, requestCert: true } : {}) });
      closers.push(() => secure.close());
      secure.route('/s', serveBytes(Buffer.from('over tls')));
      return secure;
    }

    test('a self-signed server is refused by default, without retrying, and accepted with its ca', async () => {
      const secure = await tlsServer();
      const refused = await failure(downloader().download(secure.url('/s')), ErrorCodes.NETWORK);
      expect(refused.details['tls']).toBe(true);
      // the server notes the failed handshake a moment after the client has given up on it; the
      // download has rejected, so no later attempt can come: one failure means it was not retried
      for (let waited = 0; secure.tlsFailures === 0 && waited < 60_000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(secure.tlsFailures).toBe(1);
      const file = await downloader({ ...FAST, ca: cert }).download(secure.url('/s'));
      expect(await fs.readFile(file.path, 'utf8')).toBe('over tls');
      const unchecked = await downloader({ ...FAST, tlsValidation: false }).download(secure.url('/s'));
      expect(unchecked.size).toBe(8);
    });

    test('a client certificate is presented when the server demands one', async () => {
      const secure = await tlsServer(true);
      await expect(downloader({ retries: 0, ca: cert }).download(secure.url('/s'))).rejects.toMatchObject({ code: ErrorCodes.NETWORK });
      const file = await downloader({ ...FAST, ca: cert, clientCert: cert, clientKey: key }).download(secure.url('/s'));
      expect(file.size).toBe(8);
    });

    test('requests go through the proxy, with its credentials, and never leak them', async () => {
      const proxyAuth = `Basic ${Buffer.from('proxyuser:proxy-pass-123').toString('base64')}`;
      const proxy = await ForwardProxy.start(proxyAuth);
      closers.push(() => proxy.close());
      const secure = await tlsServer();
      server.route('/plain', serveBytes(Buffer.from('via proxy')));
      const proxyUrl = proxy.url.replace('://', '://proxyuser:proxy-pass-123@');
      const d = downloader({ ...FAST, proxyUrl, ca: cert });
      expect(await fs.readFile((await d.download(server.url('/plain'))).path, 'utf8')).toBe('via proxy');
      expect(await fs.readFile((await d.download(secure.url('/s'))).path, 'utf8')).toBe('over tls');
      const targets = proxy.seen.map((s) => s.target);
      expect(targets.some((t) => t.includes(new URL(server.origin).host))).toBe(true);
      expect(targets).toContain(new URL(secure.origin).host);
      expect(proxy.seen.every((s) => s.proxyAuthorization === proxyAuth)).toBe(true);

      const refused = await failure(
        downloader({ retries: 0, proxyUrl: proxy.url.replace('://', '://proxyuser:wrong-pass-456@') }).download(server.url('/plain')),
        ErrorCodes.NETWORK,
      );
      expect(exposed(refused)).not.toContain('wrong-pass-456');
    });
  });
});
