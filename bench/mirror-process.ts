/**
 * Whole processes, timed from spawn to exit, for bench:mirror: `dnf reposync`, `tributary`, and the
 * floors beside them.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

/**
 * The CLI as users run it (the built `tributary` bin); BENCH_TRIBUTARY names another build's
 * main.js, to set one before a change beside one after.
 */
export const TRIBUTARY = path.resolve(process.env.BENCH_TRIBUTARY ?? path.join(__dirname, '../../packages/core/dist/cli/main.js'));

/**
 * Wall seconds of one process from spawn to exit; rejects (with its stderr) when it fails, unless
 * `anyExit` (start-up timings of a build whose `--version` was still a usage error).
 */
export function timeProcess(command: string, args: readonly string[], anyExit = false, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 4000) stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (code === 0 || anyExit) resolve(seconds);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
    });
  });
}

/**
 * This environment without NODE_EXTRA_CA_CERTS. Node reads that file and parses it, with its own
 * root certificates, when any process starts, before a line of the program runs, TLS or not; the
 * Python tool compared with does not, and the mirror scenario never uses TLS.
 */
export function withoutExtraCaCerts(): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _ignored, ...env } = process.env;
  return env;
}

/** Whether `dnf reposync` (dnf-plugins-core) can run here. */
export async function reposyncAvailable(): Promise<boolean> {
  return timeProcess('dnf', ['reposync', '--help']).then(
    () => true,
    () => false,
  );
}

/**
 * `dnf reposync` of the one repository at `url` into `dir`, with no system repositories and its
 * metadata cache in `cacheDir`.
 */
export function reposyncArgs(url: string, dir: string, cacheDir: string): string[] {
  return [
    'reposync',
    '-q',
    '--releasever=1',
    '--setopt=reposdir=/dev/null',
    `--setopt=cachedir=${cacheDir}`,
    `--repofrompath=mirror,${url}`,
    '--repo=mirror',
    '--norepopath',
    `--download-path=${dir}`,
  ];
}

/** `tributary sync` of `url` into a repository `mirror` under `home`, immediate. */
export function tributarySyncArgs(url: string, home: string): string[] {
  return [TRIBUTARY, '--home', home, 'sync', 'mirror', '--create', '--importer', 'rpm', '--url', url, '--policy', 'immediate'];
}

/** One curl process fetching every file with `parallel` connections: the download floor. */
export function curlArgs(url: string, files: readonly string[], dir: string, parallel: number): string[] {
  const args = ['-s', '--fail', '--create-dirs', '--parallel', '--parallel-max', String(parallel)];
  for (const file of files) args.push('-o', path.join(dir, file), new URL(file, url).href);
  return args;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
