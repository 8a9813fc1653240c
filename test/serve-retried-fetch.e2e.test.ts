/**
 * An on-demand fetch whose first upstream attempt breaks off (a connection reset, which the
 * downloader retries) while a client is already being streamed the body: the client's response
 * must end — whole and right, or cut — and the server must stay well (answer, stop on SIGTERM).
 *
 * Runs `tributary serve` as a child process: a server that fails this case spins in a loop that
 * would otherwise keep burning the test worker's CPU after the test.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { cliBuilt, runCliIn, spawnCli, type CliProcessResult } from './cli-process';
import { patternBytes, request, sha256Hex, startUpstream, waitFor, withManifest, type Files, type Upstream } from './fixtures/serve/serve-harness';

const SIZE = 1024 * 1024 + 5;
const FILES: Files = { 'early.bin': patternBytes(SIZE, 71), 'late.bin': patternBytes(SIZE, 72) };
/**
 * How long a response may take to end once its artifact is stored: a hang detector, not a speed
 * check (the rest of a 1 MiB body is read from local disk; it takes milliseconds).
 */
const HANG_MS = 30_000;

interface ClientOutcome {
  status: number;
  complete: boolean;
  bytes: number;
  sha256: string;
}

/** Settles with the outcome, or with 'hung' when it has not ended `HANG_MS` after `since` is called. */
function endsOrHangs(outcome: Promise<ClientOutcome>): { since: () => Promise<ClientOutcome | 'hung'> } {
  return {
    since: () => {
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), HANG_MS)));
      return Promise.race([outcome, hung]).finally(() => clearTimeout(timer));
    },
  };
}

describe('content app: an on-demand fetch retried after its first attempt broke off', () => {
  let home: string;
  let upstream: Upstream;

  beforeAll(async () => {
    if (!cliBuilt()) throw new Error('the CLI is not built: run `npx tsc -b` (npm test does) before this suite');
    home = mkdtempSync(path.join(os.tmpdir(), 'serve-retry-'));
    upstream = await startUpstream(withManifest(FILES));
    const sync = await runCliIn(home, ['sync', 'repo', '--create', '--importer', 'file', '--url', upstream.urlFor('PULP_MANIFEST'), '--policy', 'on_demand']);
    expect([sync.code, sync.stderr]).toEqual([0, '']);
    const dist = await runCliIn(home, ['distribution', 'create', 'dist', '--repository', 'repo', '--base-path', 'repo']);
    expect([dist.code, dist.stderr]).toEqual([0, '']);
  });
  afterAll(async () => {
    await upstream?.close();
    rmSync(home, { recursive: true, force: true });
  });

  async function withServe(body: (origin: string, stop: () => Promise<CliProcessResult | 'hung'>) => Promise<void>): Promise<void> {
    const { child, done } = spawnCli(['--home', home, 'serve', '--listen', '127.0.0.1:0']);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      let origin = '';
      await waitFor(() => {
        const match = /serving (http:\/\/127\.0\.0\.1:\d+)\/content\//.exec(stderr);
        if (match) origin = match[1]!;
        return match !== null || child.exitCode !== null;
      }, 'serve to announce its address');
      expect(origin).not.toBe('');
      await body(origin, async () => {
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), HANG_MS)));
        return Promise.race([done, hung]).finally(() => clearTimeout(timer));
      });
    } finally {
      // by its pid: a server stuck in a loop does not stop on SIGTERM
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await done.catch(() => undefined);
    }
  }

  /**
   * GETs `name` while upstream's first answer sends `firstBytes` bytes and then, once the client
   * has some of them, resets the connection; later answers send the whole file.
   */
  async function breakFirstAttempt(origin: string, name: string, firstBytes: number): Promise<{ after: () => Promise<ClientOutcome | 'hung'>; destroy: () => void }> {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    upstream.script(name, async (res, body, nth) => {
      if (nth === 1) {
        res.write(body.subarray(0, firstBytes));
        await gate;
        res.socket?.resetAndDestroy();
      } else {
        res.end(body);
      }
    });
    let received = 0;
    const hash = createHash('sha256');
    let req: http.ClientRequest | undefined;
    const outcome = new Promise<ClientOutcome>((resolve) => {
      req = http.get(`${origin}/content/repo/${name}`, { agent: false }, (res) => {
        let ended = false;
        const end = () => {
          if (ended) return;
          ended = true;
          resolve({ status: res.statusCode!, complete: res.complete, bytes: received, sha256: hash.digest('hex') });
        };
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          hash.update(chunk);
        });
        res.on('end', end);
        res.on('error', end);
        res.on('close', end);
      });
      req.on('error', () => resolve({ status: 0, complete: false, bytes: received, sha256: '' }));
    });
    const watched = endsOrHangs(outcome);
    // the client has part of the first attempt's bytes before the attempt breaks off
    await waitFor(() => received > 0, 'the first bytes to reach the client');
    release();
    // the retry stores the artifact: a HEAD then answers from storage (with Last-Modified)
    await waitFor(async () => (await request(`${origin}/content/repo/${name}`, { method: 'HEAD' })).headers['last-modified'] !== undefined, 'the artifact to be stored');
    expect(upstream.count(name)).toBe(2);
    return { after: () => watched.since(), destroy: () => req?.destroy() };
  }

  function expectEndedWell(outcome: ClientOutcome | 'hung', body: Buffer): void {
    // the response ended: either whole and right, or cut before its end (a client retries)
    expect(outcome).not.toBe('hung');
    const ended = outcome as ClientOutcome;
    expect(ended.status).toBe(200);
    if (ended.complete) expect({ bytes: ended.bytes, sha256: ended.sha256 }).toEqual({ bytes: body.length, sha256: sha256Hex(body) });
    else expect(ended.bytes).toBeLessThan(body.length);
  }

  it('the first attempt breaks off after half a megabyte: the client response ends, the server stays well', async () => {
    await withServe(async (origin, stop) => {
      const body = FILES['late.bin']!;
      const fetch = await breakFirstAttempt(origin, 'late.bin', 512 * 1024);
      const outcome = await fetch.after();
      fetch.destroy();
      expectEndedWell(outcome, body);
      const again = await request(`${origin}/content/repo/late.bin`);
      expect([again.status, again.complete, sha256Hex(again.body)]).toEqual([200, true, sha256Hex(body)]);
      const exit = await stop();
      expect(exit === 'hung' ? 'hung' : { code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    });
  });

  it('the first attempt breaks off after its first 100 bytes: the client response ends, the server stays well', async () => {
    await withServe(async (origin, stop) => {
      const body = FILES['early.bin']!;
      const fetch = await breakFirstAttempt(origin, 'early.bin', 100);
      const outcome = await fetch.after();
      fetch.destroy();
      expectEndedWell(outcome, body);
      const again = await request(`${origin}/content/repo/early.bin`);
      expect([again.status, again.complete, sha256Hex(again.body)]).toEqual([200, true, sha256Hex(body)]);
      // a server still busy with the broken response does not stop on SIGTERM
      const exit = await stop();
      expect(exit === 'hung' ? 'hung' : { code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
    });
  });
});
