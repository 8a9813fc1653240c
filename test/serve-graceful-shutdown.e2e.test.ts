/**
 * `tributary serve` as a process: SIGTERM while a client slowly downloads a large file lets that
 * response complete, refuses new connections meanwhile, and exits 0.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { cliBuilt, runCliIn, spawnCli } from './cli-process';
import { patternBytes, sha256Hex, startUpstream, waitFor, withManifest, type Upstream } from './fixtures/serve/serve-harness';

const SIZE = 48 * 1024 * 1024 + 5;

/** Resolves with the port `serve` announces on stderr. */
function announcedPort(stderr: () => string): Promise<number> {
  let port = 0;
  return waitFor(() => {
    const match = /http:\/\/127\.0\.0\.1:(\d+)\/content\//.exec(stderr());
    if (match) port = Number(match[1]);
    return match !== null;
  }, 'serve to announce its address').then(() => port);
}

/** Whether a TCP connection to the port is refused (true) or accepted (false; closed at once). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

describe('tributary serve: graceful shutdown', () => {
  let home: string;
  let upstream: Upstream;
  let big: Buffer;

  beforeAll(async () => {
    if (!cliBuilt()) throw new Error('the CLI is not built: run `npx tsc -b` (npm test does) before this suite');
    home = mkdtempSync(path.join(os.tmpdir(), 'serve-term-'));
    big = patternBytes(SIZE, 41);
    upstream = await startUpstream(withManifest({ 'big.bin': big, 'small.txt': Buffer.from('small\n') }));
    const sync = await runCliIn(home, ['sync', 'repo', '--create', '--importer', 'file', '--url', upstream.urlFor('PULP_MANIFEST'), '--policy', 'immediate']);
    expect([sync.code, sync.stderr]).toEqual([0, '']);
    const dist = await runCliIn(home, ['distribution', 'create', 'dist', '--repository', 'repo', '--base-path', 'repo']);
    expect([dist.code, dist.stderr]).toEqual([0, '']);
  });
  afterAll(async () => {
    await upstream?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('SIGTERM: the slow in-flight download completes, new connections are refused, exit 0', async () => {
    const { child, done } = spawnCli(['--home', home, '--json', 'serve', '--listen', '127.0.0.1:0']);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const port = await announcedPort(() => stderr);
      const origin = `http://127.0.0.1:${port}`;

      // a client that reads a little, then stops reading
      let received = 0;
      const hash = createHash('sha256');
      let response: http.IncomingMessage | undefined;
      const stopReading = { done: false };
      const finished = new Promise<{ status: number; complete: boolean; declared: number }>((resolve, reject) => {
        const req = http.get(`${origin}/content/repo/big.bin`, { agent: false }, (res) => {
          response = res;
          res.on('data', (chunk: Buffer) => {
            received += chunk.length;
            hash.update(chunk);
            if (received > 0 && !stopReading.done) {
              stopReading.done = true;
              res.pause();
            }
          });
          res.on('end', () => resolve({ status: res.statusCode!, complete: res.complete, declared: Number(res.headers['content-length']) }));
          res.on('error', reject);
        });
        req.on('error', reject);
      });
      await waitFor(() => stopReading.done, 'the first bytes');
      expect(received).toBeLessThan(SIZE);

      child.kill('SIGTERM');
      // the listening socket closes: new connections are refused, while the paused download is still open
      await waitFor(() => refused(port), 'new connections to be refused');
      await expect(fetchStatus(`${origin}/content/repo/small.txt`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      expect(child.exitCode).toBeNull();
      expect(received).toBeLessThan(SIZE);

      // the client reads on, slowly at first: the response completes with every byte
      let slow = 0;
      response!.on('data', () => {
        if (++slow <= 20) {
          response!.pause();
          setTimeout(() => response!.resume(), 5);
        }
      });
      response!.resume();
      const result = await finished;
      expect(result).toEqual({ status: 200, complete: true, declared: SIZE });
      expect(received).toBe(SIZE);
      expect(hash.digest('hex')).toBe(sha256Hex(big));

      const exit = await done;
      expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
      const events = exit.stderr.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
      expect(events.map((e) => e.type)).toEqual(['listening', 'stopping']);
      const access = exit.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; path: string; status: number; bytes: number });
      expect(access).toContainEqual(expect.objectContaining({ type: 'access', path: '/content/repo/big.bin', status: 200, bytes: SIZE }));
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await done.catch(() => undefined);
    }
  });

  it('SIGTERM with nothing in flight: exits 0 at once', async () => {
    const { child, done } = spawnCli(['--home', home, 'serve', '--listen', '127.0.0.1:0']);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const port = await announcedPort(() => stderr);
    expect(await fetchStatus(`http://127.0.0.1:${port}/content/repo/small.txt`)).toBe(200);
    child.kill('SIGTERM');
    const exit = await done;
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    expect(exit.stderr).toMatch(/^serving http:\/\/127\.0\.0\.1:\d+\/content\/ \(1 distribution\); stop with Ctrl-C or SIGTERM\nstopping: finishing the requests in flight\n$/);
    expect(exit.stdout).toMatch(/ GET \/content\/repo\/small\.txt 200 6 [\d.]+ms stored\n$/);
  });
});

function fetchStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      })
      .on('error', reject);
  });
}
