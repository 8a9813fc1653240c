/**
 * `tributary serve --workers 2`: two serving processes on one address and one home. A missing
 * artifact asked of both at once is fetched once between them (the other process follows the
 * claimant's file), a worker that dies is replaced, SIGTERM stops them all.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { cliBuilt, spawnCli, type CliProcessResult } from './cli-process';
import { compareBody, openHost, patternBytes, request, sha256Hex, startUpstream, syncFileRepo, waitFor, withManifest, type Upstream } from './fixtures/serve/serve-harness';

const MiB = 1024 * 1024;
const CLIENTS = 20;

interface AccessLine {
  readonly type: string;
  readonly path: string;
  readonly status: number;
  readonly served?: string;
  readonly pid?: number;
}

/** The pids of a process's children, from /proc. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) children.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return children;
}

describe('serve --workers 2', () => {
  let home: string;
  let upstream: Upstream;
  let big: Buffer;
  let child: ChildProcess;
  let done: Promise<CliProcessResult>;
  let origin = '';
  let stderr = '';
  let stdout = '';

  const access = (p: string): AccessLine[] =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as AccessLine)
      .filter((r) => r.type === 'access' && r.path === p);

  beforeAll(async () => {
    if (!cliBuilt()) throw new Error('the CLI is not built: run `npx tsc -b` (npm test does) before this suite');
    home = mkdtempSync(path.join(os.tmpdir(), 'serve-workers-'));
    big = patternBytes(16 * MiB + 5, 41);
    upstream = await startUpstream(withManifest({ 'big.bin': big, 'small.txt': Buffer.from('small\n') }));
    const host = await openHost(home);
    try {
      await syncFileRepo(host, 'repo', upstream.urlFor('PULP_MANIFEST'), { policy: 'on_demand' });
      await host.distributions.create('dist', { repository: 'repo', basePath: 'repo' });
    } finally {
      await host.close();
    }
    ({ child, done } = spawnCli(['--home', home, '--json', 'serve', '--listen', '127.0.0.1:0', '--workers', '2']));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    await waitFor(() => {
      const match = /"type":"listening","url":"(http:\/\/127\.0\.0\.1:\d+)\/content\/","distributions":1,"workers":2/.exec(stderr);
      if (match) origin = match[1]!;
      return match !== null || child.exitCode !== null;
    }, 'serve to announce its address');
    expect(origin).not.toBe('');
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await upstream?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('runs two serving processes under the one it started as', () => {
    expect(childrenOf(child.pid!)).toHaveLength(2);
  });

  it(`${CLIENTS} concurrent GETs of a missing artifact across both processes: one upstream request, every body whole and right`, async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // the first MiB, then nothing until every client has bytes: all of them join the one fetch
    upstream.throttle('big.bin', { chunkBytes: MiB, delayMs: 1, gate });
    const received = new Array<number>(CLIENTS).fill(0);
    const downloads = received.map((_, i) => compareBody(`${origin}/content/repo/big.bin`, big, {}, (bytes) => (received[i] = bytes)));
    await waitFor(() => received.every((bytes) => bytes > 0), 'every client to receive the first bytes');
    release();
    for (const result of await Promise.all(downloads)) {
      expect({ status: result.status, bytes: result.bytes, complete: result.complete, matches: result.matches }).toEqual({ status: 200, bytes: big.length, complete: true, matches: true });
    }
    expect(upstream.count('big.bin')).toBe(1);
    await waitFor(() => access('/content/repo/big.bin').length === CLIENTS, 'the access log of every request');
    const lines = access('/content/repo/big.bin');
    // the connections were spread over both processes, and both answered on demand
    expect(new Set(lines.map((l) => l.pid)).size).toBe(2);
    expect(lines.every((l) => l.status === 200 && l.served === 'on-demand')).toBe(true);
    // stored once, and served from storage afterwards
    const again = await request(`${origin}/content/repo/big.bin`);
    expect(sha256Hex(again.body)).toBe(sha256Hex(big));
    expect(upstream.count('big.bin')).toBe(1);
  });

  it('a serving process that dies is replaced; requests go on being answered', async () => {
    const [victim] = childrenOf(child.pid!);
    process.kill(victim!, 'SIGKILL');
    await waitFor(() => /"message":"a serving process stopped; starting another"/.test(stderr), 'the primary to notice');
    await waitFor(() => childrenOf(child.pid!).length === 2 && !childrenOf(child.pid!).includes(victim!), 'a new serving process');
    for (let i = 0; i < 6; i++) {
      const answer = await request(`${origin}/content/repo/small.txt`);
      expect([answer.status, answer.body.toString()]).toEqual([200, 'small\n']);
    }
  });

  it('SIGTERM stops every serving process and exits 0', async () => {
    const workers = childrenOf(child.pid!);
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('{"type":"stopping"}');
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
  });

  it('an address in use is a typed error that names it, for one process and for several; nothing is left running', async () => {
    const taken = net.createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as net.AddressInfo).port;
    try {
      for (const extra of [[], ['--workers', '2']]) {
        const { child: started, done: ended } = spawnCli(['--home', home, 'serve', '--listen', `127.0.0.1:${port}`, ...extra]);
        const result = await ended;
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`TRIBUTARY_ERR_INVALID_ARGUMENT: cannot listen on 127.0.0.1:${port}: the address is in use`);
        expect(result.stderr).not.toMatch(/\n\s+at /);
        if (extra.length > 0) expect(result.stderr).toContain('TRIBUTARY_ERR_SERVE_FAILED: a serving process stopped (exit code 1) before listening');
        expect(childrenOf(started.pid!)).toEqual([]);
      }
    } finally {
      taken.close();
    }
  });

  it('--workers takes a whole number from 1 to 256 or auto', async () => {
    for (const bad of ['0', 'two', '1.5', '257']) {
      const result = await spawnCli(['--home', home, 'serve', '--workers', bad]).done;
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`--workers must be a whole number from 1 to 256 or 'auto', got "${bad}"`);
    }
  });
});
