/**
 * End-to-end: the CLI's manners (issue 20). Options a command does not take are refused, not
 * ignored; a failed `sync --create` leaves no repository; reports count metadata apart from
 * artifacts; a reader that goes away (`| head`) ends a command quietly; every command has its own
 * help; progress shows off a terminal too; a file repository's directory url works; words agree
 * with their numbers.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli } from '@tributary/core';
import { startFixtureServer, type FixtureServer } from '@tributary/conformance';
import { CLI_ENTRY, cliBuilt, runCliIn, spawnCli } from './cli-process';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

type Files = Record<string, Buffer>;

function upstream(files: Files): Record<string, Buffer> {
  const lines = Object.entries(files).map(([name, body]) => `${name},${sha256(body)},${body.length}`);
  return { ...files, PULP_MANIFEST: Buffer.from(`${lines.join('\n')}\n`) };
}

const THREE: Files = { 'a.txt': Buffer.from('alpha\n'), 'b.txt': Buffer.from('bravo\n'), 'dir/c.txt': Buffer.from('charlie\n') };

/** Runs the CLI in this process with stderr as a terminal would be: a TTY, whose writes are kept. */
async function runOnTerminal(home: string, argv: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['--home', home, ...argv], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text), isTTY: true, columns: 200 },
    env,
    cwd: home,
  });
  return { code, stdout, stderr };
}

describe('the CLI’s manners', () => {
  let home: string;
  let server: FixtureServer;
  const cli = (...argv: string[]) => runCliIn(home, argv);

  beforeEach(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'cli-manners-'));
    server = await startFixtureServer({ files: upstream(THREE) });
  });
  afterEach(async () => {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  });

  async function syncJson(repo: string, ...flags: string[]) {
    const run = await cli('--json', 'sync', repo, '--create', '--importer', 'file', ...flags);
    if (run.code !== 0) throw new Error(`sync failed (${run.code}): ${run.stderr}`);
    return JSON.parse(run.stdout) as { version: number; report: { added: Record<string, number>; downloaded: { count: number; bytes: number }; metadata?: { count: number; bytes: number } } };
  }

  describe('1. options a command does not take are refused', () => {
    it.each([
      [['history', 'r', '--version', '1'], "'history' takes no --version option. Its options: --limit N"],
      [['units', 'r', '--limit', '3'], "'units' takes no --limit option. Its options: --type TYPE, --version N"],
      [['repo', 'list', '--importer', 'file'], "'repo list' takes no --importer option. It takes no options of its own"],
      [['sync', 'r', '--type', 'file'], "'sync' takes no --type option. Its options: --importer NAME, --url URL"],
      [['export', 'r', 'out', '--mirror'], "'export' takes no --mirror option. Its options: --version N, --clean, --option KEY=VALUE, --no-fetch"],
      [['orphans', 'cleanup', '--bogus'], "'orphans cleanup' takes no --bogus option"],
    ])('%j', async (argv, message) => {
      const run = await cli(...argv);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`error TRIBUTARY_ERR_USAGE: ${message}`);
    });

    it('export --version N exports version N, not the latest', async () => {
      await syncJson('r', '--url', server.urlFor('PULP_MANIFEST'), '--policy', 'immediate');
      server.setFiles(upstream({ ...THREE, 'new.txt': Buffer.from('new\n') }));
      await syncJson('r', '--url', server.urlFor('PULP_MANIFEST'), '--policy', 'immediate');

      const v1 = path.join(home, 'v1');
      const exported = await cli('export', 'r', v1, '--version', '1');
      expect(exported).toMatchObject({ code: 0, stdout: `exported 4 files (243 B) to ${v1}\n` });
      // the file publisher's manifest of version 1 lists exactly its three files
      expect(readFileSync(path.join(v1, 'PULP_MANIFEST'), 'utf8').trim().split('\n').map((l) => l.split(',')[0])).toEqual(['a.txt', 'b.txt', 'dir/c.txt']);
      expect(readdirSync(v1, { recursive: true }).map(String).filter((p) => p.endsWith('.txt')).sort()).toEqual(['a.txt', 'b.txt', 'dir/c.txt']);
      const v2 = path.join(home, 'v2');
      expect((await cli('export', 'r', v2)).code).toBe(0);
      expect(readFileSync(path.join(v2, 'new.txt'), 'utf8')).toBe('new\n');

      const missing = await cli('export', 'r', path.join(home, 'v9'), '--version', '9');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("repository 'r' has versions 0..2, not 9");
      expect((await cli('export', 'r', v1, '--version', 'latest')).code).toBe(2);
    });

    it('units --type with an unknown type is a typed error naming the known types', async () => {
      await syncJson('r', '--url', server.urlFor('PULP_MANIFEST'), '--policy', 'on_demand');
      const run = await cli('units', 'r', '--type', 'rpm.pkg');
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe("error TRIBUTARY_ERR_UNKNOWN_CONTENT_TYPE: unknown content type 'rpm.pkg'; known types: file, rpm.advisory, rpm.package, rpm.repo_metadata\n");
      // a known type the repository holds none of is an empty listing
      expect(await cli('units', 'r', '--type', 'rpm.package')).toMatchObject({ code: 0, stdout: '0 units\n' });
    });
  });

  describe('2. a failed sync --create leaves no repository behind', () => {
    it.each([
      ['the manifest is missing', () => server.urlFor('missing/PULP_MANIFEST'), 'TRIBUTARY_ERR_SYNC_FAILED'],
      ['the url is not one', () => 'not a url', 'TRIBUTARY_ERR_URL_INVALID'],
    ])('%s', async (_name, url, code) => {
      const run = await cli('sync', 'fresh', '--create', '--importer', 'file', '--url', url());
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`error ${code}`);
      const list = await cli('--json', 'repo', 'list');
      expect(list).toMatchObject({ code: 0, stdout: '' });
      // the name is free: the next --create that succeeds makes it
      await syncJson('fresh', '--url', server.urlFor('PULP_MANIFEST'));
      expect(JSON.parse((await cli('--json', 'repo', 'show', 'fresh')).stdout)).toMatchObject({ name: 'fresh', latestVersion: 1, units: { file: 3 } });
    });

    it('a repository that existed before is kept when a sync --create of it fails', async () => {
      expect((await cli('repo', 'create', 'kept')).code).toBe(0);
      expect((await cli('sync', 'kept', '--create', '--importer', 'file', '--url', server.urlFor('missing/PULP_MANIFEST'))).code).toBe(1);
      expect((await cli('repo', 'show', 'kept')).code).toBe(0);
    });
  });

  describe('3. reports count metadata apart from artifacts', () => {
    it('on_demand: 3 units, 0 files and 1 metadata file downloaded', async () => {
      const manifestSize = upstream(THREE)['PULP_MANIFEST']!.length;
      const outcome = await syncJson('r', '--url', server.urlFor('PULP_MANIFEST'), '--policy', 'on_demand');
      expect(outcome.report.added).toEqual({ file: 3 });
      expect(outcome.report.downloaded).toEqual({ count: 0, bytes: 0 });
      expect(outcome.report.metadata).toEqual({ count: 1, bytes: manifestSize });
    });

    it('immediate, in words', async () => {
      const manifestSize = upstream(THREE)['PULP_MANIFEST']!.length;
      const run = await cli('sync', 'r', '--create', '--importer', 'file', '--url', server.urlFor('PULP_MANIFEST'));
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(
        new RegExp(`^synced 'r' \\(immediate\\) to version 1: added 3 file units; updated none; removed none; downloaded 3 files \\(20 B\\) and 1 metadata file \\(${manifestSize} B\\) in \\d+\\.\\ds\\n$`),
      );
    });
  });

  describe('4. a reader that goes away ends a command quietly', () => {
    const many = 40_000;
    let bigHome: string;

    beforeAll(async () => {
      bigHome = mkdtempSync(path.join(os.tmpdir(), 'cli-epipe-'));
      const lines: string[] = [];
      for (let i = 0; i < many; i++) lines.push(`files/${i % 100}/file-${i}.bin,${sha256(String(i))},${i}`);
      writeFileSync(path.join(bigHome, 'PULP_MANIFEST'), `${lines.join('\n')}\n`);
      const run = await runCliIn(bigHome, ['sync', 'big', '--create', '--importer', 'file', '--policy', 'on_demand', '--url', pathToFileURL(path.join(bigHome, 'PULP_MANIFEST')).href]);
      if (run.code !== 0) throw new Error(run.stderr);
      // (jest's own timeout: this sync of 40,000 units takes some 10 s on an idle machine, several times that on a busy one)
    });
    afterAll(() => rmSync(bigHome, { recursive: true, force: true }));

    const itBuilt = cliBuilt() ? it : it.skip;

    /** `sh -c 'tributary … | head -N'`: the CLI's stderr and exit status, and what head printed. */
    function pipeToHead(argv: string[], lines: number): Promise<{ status: string; stderr: string; stdout: string }> {
      const quoted = [process.execPath, CLI_ENTRY, '--home', bigHome, ...argv].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
      // the CLI's stderr goes to a file and its exit status to fd 3, so only head writes to stdout
      const script = `{ ${quoted} 2>"$ERRFILE"; echo $? >&3; } | head -${lines}`;
      const errFile = path.join(bigHome, `stderr-${Math.random().toString(36).slice(2)}`);
      return new Promise((resolve, reject) => {
        const child = spawn('sh', ['-c', script], { env: { ...process.env, ERRFILE: errFile }, stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
        let stdout = '';
        let status = '';
        child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
        (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (status += d.toString()));
        child.on('error', reject);
        child.on('close', () => resolve({ status: status.trim(), stderr: readFileSync(errFile, 'utf8'), stdout }));
      });
    }

    itBuilt('units --json | head -2', async () => {
      const { status, stderr, stdout } = await pipeToHead(['units', 'big', '--json'], 2);
      expect(stderr).toBe('');
      expect(status).toBe('0');
      expect(stdout.trim().split('\n').map((l) => JSON.parse(l).type)).toEqual(['file', 'file']);
    }, 60_000);

    itBuilt('units | head -1, repo list | head -1, history | head -1', async () => {
      for (const argv of [['units', 'big'], ['repo', 'list'], ['history', 'big'], ['--json', 'units', 'big', '--version', '1']]) {
        const { status, stderr } = await pipeToHead(argv, 1);
        expect({ argv, stderr, status }).toEqual({ argv, stderr: '', status: '0' });
      }
    }, 60_000);

    itBuilt('repo show R with its reader gone before it writes', async () => {
      for (const argv of [['repo', 'show', 'big'], ['--json', 'repo', 'show', 'big'], ['plugins', 'list'], ['units', 'big']]) {
        const { child, done } = spawnCli(['--home', bigHome, ...argv]);
        child.stdout!.destroy();
        const result = await done;
        expect({ argv, code: result.code, stderr: result.stderr }).toEqual({ argv, code: 0, stderr: '' });
      }
    }, 60_000);
  });

  describe('5. every command has its own help', () => {
    it('sync --help: every option with its default, and what a later sync remembers', async () => {
      const run = await cli('sync', '--help');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Usage: tributary sync REPO \[options\]/);
      for (const option of ['--importer', '--url', '--config', '--policy', '--mirror', '--force', '--create', '--ca', '--client-cert', '--client-key', '--no-tls-verify', '--proxy', '--header', '--username', '--password-env', '--concurrency', '--idle-timeout', '--home', '--store', '--json', '--plugin']) {
        expect(run.stdout).toContain(`  ${option}`);
      }
      const flat = run.stdout.replace(/\s+/g, ' ');
      expect(flat).toContain('(default: the policy of the last successful sync, else immediate)');
      expect(flat).toContain('(default: 10)');
      expect(flat).toContain('(default: 60)');
      expect(flat).toContain('Remembered: importer, url, policy and config.');
      expect(flat).toContain('Not remembered: --mirror, --force and the remote options.');
      // a command's help, not the global usage
      expect(run.stdout).not.toContain('Commands:');
    });

    it.each([
      [['units', '--help'], /^Usage: tributary units REPO \[options\][\s\S]*--type TYPE\s+only units of this content type \(default: every type\)[\s\S]*--version N\s+the repository version \(default: the latest\)/],
      [['help', 'history'], /^Usage: tributary history REPO \[options\][\s\S]*--limit N\s+show at most N syncs, newest first \(default: 50\)/],
      [['export', '-h'], /^Usage: tributary export REPO DIR \[options\][\s\S]*--no-fetch[\s\S]*Remote options/],
      [['repo', 'create', '--help'], /^Usage: tributary repo create NAME \[options\][\s\S]*--description TEXT/],
      [['repo', '--help'], /^Usage: tributary repo create\|list\|show\|delete/],
      [['--help'], /^Usage: tributary \[--home DIR\][\s\S]*'tributary COMMAND --help'/],
    ])('%j', async (argv, pattern) => {
      const run = await cli(...argv);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(pattern);
    });
  });

  describe('6. progress', () => {
    const TEN: Files = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}.bin`, Buffer.from(`file ${i}\n`)]));
    beforeEach(() => {
      server.setFiles(upstream(TEN));
      server.fault('*.bin', { delayMs: 200 });
    });

    it('off a terminal: a line on stderr every interval, with the artifacts to download once known', async () => {
      const run = await runCliIn(home, ['sync', 'r', '--create', '--importer', 'file', '--url', server.urlFor('PULP_MANIFEST'), '--concurrency', '1'], { TRIBUTARY_PROGRESS_SECONDS: '0.2' });
      expect(run.code).toBe(0);
      const lines = run.stderr.split('\n').filter(Boolean);
      expect(lines.length).toBeGreaterThanOrEqual(3);
      for (const line of lines) expect(line).toMatch(/^syncing r \(\d+s\): /);
      expect(run.stderr).toMatch(/metadata 1 file \(\d+ B\)/);
      expect(run.stderr).toMatch(/artifacts \d+ \(\d+ B\) of 10 downloaded, \d+%/);
      expect(run.stdout).toMatch(/^synced 'r'/);
    }, 30_000);

    it('--json: JSON lines on stderr', async () => {
      const run = await runCliIn(home, ['--json', 'sync', 'r', '--create', '--importer', 'file', '--url', server.urlFor('PULP_MANIFEST'), '--concurrency', '1'], { TRIBUTARY_PROGRESS_SECONDS: '0.2' });
      expect(run.code).toBe(0);
      const progress = run.stderr
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { progress: Record<string, unknown> }).progress);
      expect(progress.length).toBeGreaterThanOrEqual(3);
      expect(progress.at(-1)).toMatchObject({ repository: 'r', artifactsDue: 10, artifactsListed: true, metadataFiles: 1 });
      expect(progress.at(-1)!['downloadedFiles']).toBeGreaterThan(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ version: 1 });
    }, 30_000);

    it('on a terminal: a status line redrawn in place, with a percentage', async () => {
      const run = await runOnTerminal(home, ['sync', 'r', '--create', '--importer', 'file', '--url', server.urlFor('PULP_MANIFEST'), '--concurrency', '1'], {});
      expect(run.code).toBe(0);
      const frames = run.stderr.split('\r\x1b[2K').filter(Boolean);
      expect(frames.length).toBeGreaterThan(5);
      expect(frames.some((f) => /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] syncing r \(\d+s\): .*artifacts \d+ \(\d+ B\) of 10 downloaded, \d+%/.test(f))).toBe(true);
      expect(run.stderr).not.toContain('\n');
      expect(run.stderr.endsWith('\r\x1b[2K')).toBe(true);
    }, 30_000);

    (cliBuilt() ? it : it.skip)('the tributary process, its stderr a pipe: a line every 5 seconds by default', async () => {
      server.setFiles(upstream(Object.fromEntries(Array.from({ length: 28 }, (_, i) => [`f${i}.bin`, Buffer.from(`file ${i}\n`)]))));
      server.fault('*.bin', { delayMs: 250 });
      const env = { ...process.env, TRIBUTARY_PROGRESS_SECONDS: undefined };
      const started = Date.now();
      const { done } = spawnCli(['--home', home, 'sync', 'r', '--create', '--importer', 'file', '--url', server.urlFor('PULP_MANIFEST'), '--concurrency', '1'], env);
      const result = await done;
      expect(result.code).toBe(0);
      const lines = result.stderr.split('\n').filter(Boolean);
      expect(lines.length).toBeGreaterThanOrEqual(1);
      expect(lines.length).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 5000));
      for (const line of lines) expect(line).toMatch(/^syncing r \(\d+s\): \d+ added, \d+ updated, \d+ removed; metadata 1 file \([\d.]+ K?i?B\); artifacts \d+ \(\d+ B\) of \d+/);
    }, 60_000);

    it('TRIBUTARY_PROGRESS_SECONDS=0 turns it off', async () => {
      const run = await runCliIn(home, ['sync', 'r', '--create', '--importer', 'file', '--url', server.urlFor('PULP_MANIFEST'), '--concurrency', '1'], { TRIBUTARY_PROGRESS_SECONDS: '0' });
      expect(run).toMatchObject({ code: 0, stderr: '' });
    }, 30_000);
  });

  describe("8. a file repository's directory url", () => {
    it('reads the PULP_MANIFEST in the directory a url ending in / names', async () => {
      server.setFiles(Object.fromEntries(Object.entries(upstream(THREE)).map(([name, body]) => [`repo/${name}`, body])));
      const outcome = await syncJson('r', '--url', server.urlFor('repo/'), '--policy', 'immediate');
      expect(outcome.report.added).toEqual({ file: 3 });
      expect(server.requests.map((r) => r.path).sort()).toEqual(['/repo/PULP_MANIFEST', '/repo/a.txt', '/repo/b.txt', '/repo/dir/c.txt']);
      expect(JSON.parse((await cli('--json', 'repo', 'show', 'r')).stdout).feedUrl).toBe(server.urlFor('repo/'));
    });

    it('says so when the url names a web page', async () => {
      server.setFile('index.html', '<!DOCTYPE html>\n<html><body><a href="PULP_MANIFEST">PULP_MANIFEST</a></body></html>\n');
      const run = await cli('--json', 'sync', 'r', '--create', '--importer', 'file', '--url', server.urlFor('index.html'));
      expect(run.code).toBe(1);
      const { error } = JSON.parse(run.stderr) as { error: { details: { causeCode: string }; message: string } };
      expect(error.details.causeCode).toBe('TRIBUTARY_ERR_MANIFEST_INVALID');
      expect(error.message).toContain("index.html is an HTML page, not a PULP_MANIFEST: give the manifest's url, or its directory's url ending in '/'");
    });
  });

  describe('9. words', () => {
    it('one unit, one file; the history shows why a sync failed', async () => {
      server.setFiles(upstream({ 'only.txt': Buffer.from('only\n') }));
      const synced = await cli('sync', 'r', '--create', '--importer', 'file', '--url', server.urlFor('PULP_MANIFEST'));
      expect(synced.stdout).toMatch(/: added 1 file unit; updated none; removed none; downloaded 1 file \(5 B\) and 1 metadata file \(\d+ B\) in/);
      expect((await cli('units', 'r')).stdout).toMatch(/\n1 unit\n$/);
      expect((await cli('repo', 'show', 'r')).stdout).toContain('units:      1 file unit\n');

      server.fault('PULP_MANIFEST', { status: 404 });
      expect((await cli('sync', 'r')).code).toBe(1);
      const table = (await cli('history', 'r')).stdout.split('\n');
      expect(table[0]).toMatch(/NOTE$/);
      expect(table[1]).toMatch(/failed .*TRIBUTARY_ERR_HTTP_STATUS: download of http:\/\/127\.0\.0\.1:\d+\/PULP_MANIFEST failed/);
      expect(table[1]!.length).toBeLessThan(200);
      expect((await cli('repo', 'show', 'r')).stdout).toMatch(/last sync: {2}failed at \S+: TRIBUTARY_ERR_HTTP_STATUS: download of/);
    });
  });
});
