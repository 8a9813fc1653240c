/**
 * End-to-end, issue 19 item 8: a stalled transfer (headers, then part of the body, then silence;
 * or no answer at all) fails after its idle timeout on every attempt, however many other transfers
 * stall with it, and the sync fails with TRIBUTARY_ERR_TIMEOUT once the first transfer has used up
 * its retries.
 *
 * Nothing here measures time. That the idle timeout, not a 60 s default, ended a transfer is told
 * by the error (its details name the idle timeout given); that a retry did not wait behind other
 * stalled transfers is told by the order in which upstream received the requests. Where a healthy
 * answer (the manifest, or the headers before a body stalls) must come before the idle timeout,
 * that timeout is seconds long, so a busy machine cannot make a healthy transfer look stalled.
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
/** Long enough that a healthy local answer never looks stalled, however busy the machine. */
const IDLE_MS = 2_000;
/** For a transfer that gets no answer at all: nothing healthy has to come first. */
const SILENT_IDLE_MS = 300;
const RETRIES = 2;
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

/** Runs an immediate sync with an idle timeout (IDLE_MS unless `remote` says otherwise); resolves with its error. */
async function failingSync(remote: Record<string, number> = {}): Promise<unknown> {
  return host
    .sync('stalled', { importer: 'file', url: manifestUrl, policy: 'immediate', remote: { idleTimeoutMs: IDLE_MS, retries: RETRIES, backoffMs: 20, ...remote } })
    .then(
      () => new Error('the sync succeeded'),
      (e: unknown) => e,
    );
}

const requestsOf = (target: string) => server.requests.filter((r) => r.path === `/${target}`).length;

describe('a stalled manifest', () => {
  test('headers and half the body, then silence: typed timeout after every attempt, the idle timeout\'s', async () => {
    server.fault('PULP_MANIFEST', { stallAfterBytes: 100 });
    const error = await failingSync();
    expect(error).toMatchObject({ code: 'TRIBUTARY_ERR_SYNC_FAILED', details: { causeCode: 'TRIBUTARY_ERR_TIMEOUT' } });
    expect(rootTributaryError(error)?.details).toMatchObject({ phase: 'idle', idleTimeoutMs: IDLE_MS });
    expect(requestsOf('PULP_MANIFEST')).toBe(RETRIES + 1);
    expect((await host.getRepository('stalled')).latestVersion).toBe(0);
  });

  test('no answer at all: the idle timeout covers the wait for the headers too (headersTimeoutMs left at its 60 s default)', async () => {
    server.fault('PULP_MANIFEST', { stall: true });
    const error = await failingSync({ idleTimeoutMs: SILENT_IDLE_MS });
    expect(error).toMatchObject({ code: 'TRIBUTARY_ERR_SYNC_FAILED', details: { causeCode: 'TRIBUTARY_ERR_TIMEOUT' } });
    // the idle timer ended the wait for the headers (undici's 60 s headers timeout names no idle timeout)
    expect(rootTributaryError(error)?.details).toMatchObject({ phase: 'headers', idleTimeoutMs: SILENT_IDLE_MS });
    expect(requestsOf('PULP_MANIFEST')).toBe(RETRIES + 1);
  });
});

describe(`${FILE_COUNT} stalled artifacts at once`, () => {
  test('the first transfer to use up its retries fails the sync; its retries never queued behind the other stalled transfers', async () => {
    server.fault('f*.bin', { stallAfterBytes: FILE_SIZE / 2 });
    const concurrency = 10;
    const error = await failingSync({ concurrency });
    expect(error).toMatchObject({ code: 'TRIBUTARY_ERR_SYNC_FAILED', details: { causeCode: 'TRIBUTARY_ERR_TIMEOUT' } });
    expect(error).toMatchObject({ details: { stage: 'ArtifactDownloader' } });
    expect(rootTributaryError(error)?.details).toMatchObject({ phase: 'idle', idleTimeoutMs: IDLE_MS });

    // the requests for the files, in the order upstream received them
    const files = server.requests.filter((r) => r.path.endsWith('.bin')).map((r) => r.path);
    const perFile = new Map<string, number>();
    let firstUsedUp = -1;
    let startedBeforeFirstUsedUp = 0;
    files.forEach((file, i) => {
      const attempts = (perFile.get(file) ?? 0) + 1;
      perFile.set(file, attempts);
      if (firstUsedUp >= 0) return;
      if (attempts === 1) startedBeforeFirstUsedUp++;
      if (attempts === RETRIES + 1) firstUsedUp = i;
    });
    // some transfer was tried once and retried RETRIES times, and none more often
    expect(Math.max(...perFile.values())).toBe(RETRIES + 1);
    // Kept slots: a file beyond the transfer limit starts only once a transfer has given its slot
    // back, after its last attempt. A retry that queued behind waiting transfers would instead let
    // every one of the 20 files start before any transfer's last attempt.
    expect(firstUsedUp).toBeGreaterThanOrEqual(0);
    expect(startedBeforeFirstUsedUp).toBeLessThanOrEqual(concurrency);
    // and the sync failed instead of going on: not every file was tried until it used up its retries
    // (a file that starts as a slot is given back is stopped by the failure long before that)
    const everyFileUsedUp = perFile.size === FILE_COUNT && [...perFile.values()].every((n) => n === RETRIES + 1);
    expect(everyFileUsedUp).toBe(false);
    expect((await host.getRepository('stalled')).latestVersion).toBe(0);
  });
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
    // (an attempt whose headers came late would time out waiting for them: a timeout as well)
    server.fault('PULP_MANIFEST', { stallAfterBytes: 100 });
    const run = await cli('sync', 'repo', '--create', '--importer', 'file', '--url', manifestUrl, '--idle-timeout', '0.3');
    expect(run.code).toBe(1);
    const error = JSON.parse(run.stderr.trim()).error as { code: string; message: string; details: Record<string, unknown> };
    expect(error).toMatchObject({ code: 'TRIBUTARY_ERR_SYNC_FAILED', details: { causeCode: 'TRIBUTARY_ERR_TIMEOUT' } });
    // the 0.3 s given, not the 60 s default, ended each attempt
    expect(error.message).toMatch(/ for 300 ms/);
    expect(requestsOf('PULP_MANIFEST')).toBe(4);
  });

  test('--idle-timeout must be a positive number of seconds', async () => {
    for (const bad of ['0', '-1', 'soon']) {
      const run = await cli('sync', 'repo', '--create', '--importer', 'file', '--url', manifestUrl, '--idle-timeout', bad);
      expect([bad, run.code]).toEqual([bad, 2]);
    }
  });
});
