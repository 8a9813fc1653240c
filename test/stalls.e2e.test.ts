/**
 * End-to-end, issue 19 item 8: a stalled transfer (headers, then part of the body, then silence;
 * or no answer at all) fails within its idle timeout times its attempts, however many other
 * transfers stall with it, and the sync fails with TRIBUTARY_ERR_TIMEOUT soon after the first
 * transfer has used up its retries.
 *
 * The bounds asserted are orders of magnitude away from the expected times (idle 0.3 s: a few
 * seconds at most, against the minutes of the 60 s defaults), so a slow or busy machine cannot
 * fail them; what the test really tells apart is whether a retry waited behind other stalled
 * transfers, which it checks by which files were ever requested.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHost, runCli, type Host } from '@tributary/core';
import { fileImporter } from '@tributary/importer-file';
import { startFixtureServer, type FixtureServer } from '@tributary/conformance';
import { rootTributaryError } from '@tributary/plugin-api';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const IDLE_MS = 300;
const RETRIES = 2;
/** Far above the expected (RETRIES + 1) · IDLE_MS plus backoff, far below one 60 s default timeout. */
const BOUND_MS = 30_000;
const FILE_COUNT = 20;
const FILE_SIZE = 64 * 1024;

let work: string;
let server: FixtureServer;
let host: Host;
let manifestUrl: string;

beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'tributary-stalls-'));
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < FILE_COUNT; i++) files[`f${String(i).padStart(2, '0')}.bin`] = randomBytes(FILE_SIZE);
  const manifest = Object.entries(files).map(([name, body]) => `${name},${sha256(body)},${body.length}`);
  server = await startFixtureServer({ files: { ...files, PULP_MANIFEST: Buffer.from(`${manifest.join('\n')}\n`) } });
  manifestUrl = server.urlFor('PULP_MANIFEST');
  host = await createHost({ storageRoot: path.join(work, 'storage'), plugins: [fileImporter] });
  await host.createRepository({ name: 'stalled' });
});

afterEach(async () => {
  await host?.close();
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

/** Runs an immediate sync with a short idle timeout; resolves with its error and how long it took. */
async function failingSync(remote: Record<string, number> = {}): Promise<{ error: unknown; elapsedMs: number }> {
  const started = Date.now();
  const error = await host
    .sync('stalled', { importer: 'file', url: manifestUrl, policy: 'immediate', remote: { idleTimeoutMs: IDLE_MS, retries: RETRIES, backoffMs: 20, ...remote } })
    .then(
      () => new Error('the sync succeeded'),
      (e: unknown) => e,
    );
  return { error, elapsedMs: Date.now() - started };
}

const requestsOf = (target: string) => server.requests.filter((r) => r.path === `/${target}`).length;

describe('a stalled manifest', () => {
  test('headers and half the body, then silence: typed timeout after every attempt, within a few idle timeouts', async () => {
    server.fault('PULP_MANIFEST', { stallAfterBytes: 100 });
    const { error, elapsedMs } = await failingSync();
    expect(error).toMatchObject({ code: 'TRIBUTARY_ERR_SYNC_FAILED', details: { causeCode: 'TRIBUTARY_ERR_TIMEOUT' } });
    expect(rootTributaryError(error)?.details['phase']).toBe('idle');
    expect(requestsOf('PULP_MANIFEST')).toBe(RETRIES + 1);
    expect(elapsedMs).toBeLessThan(BOUND_MS);
    expect((await host.getRepository('stalled')).latestVersion).toBe(0);
  }, 60_000);

  test('no answer at all: the idle timeout covers the wait for the headers too (headersTimeoutMs left at its 60 s default)', async () => {
    server.fault('PULP_MANIFEST', { stall: true });
    const { error, elapsedMs } = await failingSync();
    expect(error).toMatchObject({ code: 'TRIBUTARY_ERR_SYNC_FAILED', details: { causeCode: 'TRIBUTARY_ERR_TIMEOUT' } });
    expect(requestsOf('PULP_MANIFEST')).toBe(RETRIES + 1);
    expect(elapsedMs).toBeLessThan(BOUND_MS);
  }, 60_000);
});

describe(`${FILE_COUNT} stalled artifacts at once`, () => {
  test('the first transfer to use up its retries fails the sync; its retries never queued behind the other stalled transfers', async () => {
    server.fault('f*.bin', { stallAfterBytes: FILE_SIZE / 2 });
    const concurrency = 10;
    const { error, elapsedMs } = await failingSync({ concurrency });
    expect(error).toMatchObject({ code: 'TRIBUTARY_ERR_SYNC_FAILED', details: { causeCode: 'TRIBUTARY_ERR_TIMEOUT' } });
    expect(error).toMatchObject({ details: { stage: 'ArtifactDownloader' } });
    expect(rootTributaryError(error)?.details['phase']).toBe('idle');
    expect(elapsedMs).toBeLessThan(BOUND_MS);

    const perFile = new Map<string, number>();
    for (const r of server.requests) if (r.path.endsWith('.bin')) perFile.set(r.path, (perFile.get(r.path) ?? 0) + 1);
    // some transfer was tried once and retried RETRIES times, and none more often
    expect(Math.max(...perFile.values())).toBe(RETRIES + 1);
    // A retry that queued behind waiting transfers would let every one of the 20 files start before
    // any second attempt. Kept slots mean the files beyond the transfer limit never start: the sync
    // fails first (at most a few may slip in as the failing transfer hands its slot on).
    expect(perFile.size).toBeLessThan(FILE_COUNT);
    expect(perFile.size).toBeLessThanOrEqual(concurrency + 3);
    expect((await host.getRepository('stalled')).latestVersion).toBe(0);
  }, 60_000);
});

describe('the CLI', () => {
  async function cli(...argv: string[]): Promise<{ code: number; stderr: string }> {
    let stderr = '';
    const code = await runCli(['--home', path.join(work, 'cli-home'), '--json', ...argv], {
      stdout: { write: () => true },
      stderr: { write: (text: string) => ((stderr += text), true) },
      env: {},
      cwd: work,
    });
    return { code, stderr };
  }

  test('--idle-timeout SECONDS bounds a stalled transfer (default retries and backoff)', async () => {
    server.fault('PULP_MANIFEST', { stallAfterBytes: 100 });
    const started = Date.now();
    const run = await cli('sync', 'repo', '--create', '--importer', 'file', '--url', manifestUrl, '--idle-timeout', '0.3');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stderr.trim()).error).toMatchObject({ code: 'TRIBUTARY_ERR_SYNC_FAILED', details: { causeCode: 'TRIBUTARY_ERR_TIMEOUT' } });
    expect(Date.now() - started).toBeLessThan(BOUND_MS);
    expect(requestsOf('PULP_MANIFEST')).toBe(4);
  }, 60_000);

  test('--idle-timeout must be a positive number of seconds', async () => {
    for (const bad of ['0', '-1', 'soon']) {
      const run = await cli('sync', 'repo', '--create', '--importer', 'file', '--url', manifestUrl, '--idle-timeout', bad);
      expect([bad, run.code]).toEqual([bad, 2]);
    }
  });
});
