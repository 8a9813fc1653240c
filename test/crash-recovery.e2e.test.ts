/**
 * End-to-end: `tributary sync` processes killed (SIGKILL) at random points of what they asked upstream. After each kill the
 * catalog passes SQLite's integrity check and the committed version reads back byte for byte as
 * before; the next sync (once the dead host's lease expired) succeeds and leaves no scratch
 * directory and no staged `.part` file behind, because it removes what the dead sync left.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { cliBuilt, spawnCli } from './cli-process';

const KILLS = 10;
/** Short, so the next sync gets the dead host's lease soon; the CLI reads it from the environment. */
const LEASE_TTL_MS = 1000;

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Two upstream states the syncs alternate between, so every sync has something to write and remove. */
function state(generation: number): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let i = 0; i < 240; i++) {
    // two thirds stay, a third changes with each generation
    const changes = i % 3 === 0;
    files.set(changes ? `g${generation % 2}/f${i}.bin` : `same/f${i}.bin`, changes ? randomBytes(4096) : Buffer.alloc(4096, i));
  }
  return files;
}

function manifestOf(files: Map<string, Buffer>): Buffer {
  return Buffer.from([...files].map(([name, body]) => `${name},${sha256(body)},${body.length}\n`).join(''));
}

(cliBuilt() ? describe : describe.skip)('a sync killed at random points', () => {
  let home: string;
  let server: Server;
  let url: string;
  let files = state(0);
  /** Told of each request (0 = the manifest, then 1, 2, … for files); answers whether to hold it unanswered. */
  let onRequest: ((index: number) => boolean) | undefined;
  let requests = 0;

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'tributary-crash-'));
    server = createServer((request, response) => {
      const name = decodeURIComponent(new URL(request.url!, 'http://x').pathname.slice(1));
      const body = name === 'PULP_MANIFEST' ? manifestOf(files) : files.get(name);
      if (body === undefined) {
        response.writeHead(404).end();
        return;
      }
      // a held request is never answered: the sync cannot finish before the test kills it
      if (onRequest?.(requests++)) return;
      response.writeHead(200, { 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/PULP_MANIFEST`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(home, { recursive: true, force: true });
  });

  const env = { TRIBUTARY_LEASE_TTL_MS: String(LEASE_TTL_MS) };

  async function cli(...argv: string[]) {
    return spawnCli(['--home', home, ...argv], env).done;
  }

  /** Syncs to the end, waiting out a dead host's lease (REPO_BUSY) by polling. */
  async function syncToTheEnd(): Promise<{ version: number }> {
    for (let attempt = 0; ; attempt++) {
      const run = await cli('--json', 'sync', 'repo', '--create', '--importer', 'file', '--url', url, '--mirror');
      if (run.code === 0) return JSON.parse(run.stdout) as { version: number };
      if (!run.stderr.includes('TRIBUTARY_ERR_REPO_BUSY') || attempt > 60) throw new Error(`sync failed (${run.code}): ${run.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, LEASE_TTL_MS / 2));
    }
  }

  async function unitsOf(version: number): Promise<string> {
    const run = await cli('--json', 'units', 'repo', '--version', String(version));
    expect(run.code).toBe(0);
    return run.stdout;
  }

  function integrity(): string {
    const db = new BetterSqlite3(path.join(home, 'catalog.db'), { readonly: true });
    try {
      return String(db.pragma('integrity_check', { simple: true }));
    } finally {
      db.close();
    }
  }

  /** Scratch directories and staged files left in storage. */
  function leftovers(): string[] {
    const storage = path.join(home, 'storage');
    const found = readdirSync(path.join(storage, 'tmp')).map((name) => `tmp/${name}`);
    for (const dir of readdirSync(path.join(storage, 'artifacts'))) {
      for (const name of readdirSync(path.join(storage, 'artifacts', dir))) if (name.endsWith('.part')) found.push(`artifacts/${dir}/${name}`);
    }
    return found;
  }

  it(`leaves the committed version intact after each of ${KILLS} kills, and the next sync cleans up after it`, async () => {
    let { version } = await syncToTheEnd();
    expect(version).toBe(1);
    // a mirror sync downloads the manifest and the third of the files that changed
    const downloads = [...state(1).keys()].filter((name) => !name.startsWith('same/')).length;
    let held = 0;
    let killsMidSync = 0;
    for (let round = 1; round <= KILLS; round++) {
      const before = await unitsOf(version);
      files = state(round);
      requests = 0;
      const doomed = spawnCli(['--home', home, 'sync', 'repo', '--mirror'], env);
      // Kill points come from what the sync asked upstream, not from a clock, so they land the
      // same on a busy machine: odd rounds while request K (manifest or a file) is held, so the
      // sync is surely running; even rounds a moment after the last file was answered, while it
      // saves and commits (or, on a fast machine, after it finished).
      const kill = () => doomed.child.kill('SIGKILL');
      if (round % 2 === 1) {
        const target = Math.floor(Math.random() * (downloads + 1));
        held++;
        onRequest = (index) => {
          if (index !== target) return false;
          kill();
          return true;
        };
      } else {
        onRequest = (index) => {
          if (index === downloads) setTimeout(kill, Math.floor(Math.random() * 50));
          return false;
        };
      }
      const killed = await doomed.done;
      onRequest = undefined;
      if (killed.signal === 'SIGKILL') killsMidSync++;

      expect(integrity()).toBe('ok');
      expect(await unitsOf(version)).toBe(before);

      const next = await syncToTheEnd();
      expect(next.version).toBeGreaterThan(version);
      version = next.version;
      expect(leftovers()).toEqual([]);
    }
    // every held round killed a running sync
    expect(killsMidSync).toBeGreaterThanOrEqual(held);
  }, 600_000);

  it('orphan cleanup removes what a killed sync left once its lease expired, whatever its age', async () => {
    files = state(KILLS + 1);
    requests = 0;
    // from the tenth file on, upstream holds every request: the sync is downloading until killed
    onRequest = (index) => index >= 10;
    const doomed = spawnCli(['--home', home, 'sync', 'repo', '--mirror'], env);
    // killed once it has scratch space and is downloading
    for (let waited = 0; (requests <= 10 || !leftovers().some((entry) => entry.startsWith('tmp/'))) && waited < 120_000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    doomed.child.kill('SIGKILL');
    const killed = await doomed.done;
    onRequest = undefined;
    expect(killed.signal).toBe('SIGKILL');
    expect(leftovers().length).toBeGreaterThan(0);
    let cleanup;
    for (let attempt = 0; ; attempt++) {
      cleanup = await cli('--json', 'orphans', 'cleanup');
      if (cleanup.code === 0 || !cleanup.stderr.includes('TRIBUTARY_ERR_REPO_BUSY') || attempt > 60) break;
      await new Promise((resolve) => setTimeout(resolve, LEASE_TTL_MS / 2));
    }
    expect(cleanup.code).toBe(0);
    const removed = JSON.parse(cleanup.stdout) as { tempScopes: number; stagedFiles: number };
    expect(removed.tempScopes).toBe(1);
    expect(leftovers()).toEqual([]);
    expect(integrity()).toBe('ok');
  }, 120_000);
});
