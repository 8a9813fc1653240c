/**
 * Helpers of the serving benchmark (serve.ts): driving the `tributary` CLI in child processes,
 * starting nginx and the upstream, running wrk and curl, and reading CPU time and RSS from /proc.
 */
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** The CLI a user runs (`npm run tributary`), built by `tsc -b` (bench references core). */
export const CLI = path.resolve(__dirname, '..', '..', 'packages', 'core', 'dist', 'cli', 'main.js');

/** Runs `tributary --home HOME ARGS…` to its end; its stdout, or an error carrying its stderr. */
export function runCli(home: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, '--home', home, ...args], { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, TRIBUTARY_PROGRESS_SECONDS: '0' } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`tributary ${args.join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** A running `tributary serve`. */
export interface ServeProcess {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly origin: string;
  readonly pid: number;
  /** Its pid and its workers' (`--workers`): the processes whose CPU and memory count. */
  pids(): number[];
  /** What it wrote on stderr so far (the listening line, warnings, errors). */
  stderr(): string;
  /** SIGTERM, then waits for its exit; its exit code (or signal). */
  stop(): Promise<string>;
}

/**
 * Starts `tributary --home HOME serve --listen 127.0.0.1:0` and waits for its `serving …` line.
 * The access log (stdout) goes to `accessLog`, or /dev/null. `BENCH_SERVE_NODE_ARGS` (e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`) is passed to node, for profiling the serve process.
 * `BENCH_SERVE_WORKERS` is its `--workers` (default 1, as `serve` itself: with `auto` on this
 * 2-core VM (a) gains little beside wrk, and (d) counts three processes).
 */
export async function startServe(home: string, accessLog?: string, workers = process.env.BENCH_SERVE_WORKERS ?? '1'): Promise<ServeProcess> {
  const nodeArgs = (process.env.BENCH_SERVE_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0);
  const out = accessLog ? openSync(accessLog, 'a') : 'ignore';
  const child = spawn(process.execPath, [...nodeArgs, CLI, '--home', home, 'serve', '--listen', '127.0.0.1:0', '--workers', workers], { stdio: ['ignore', out, 'pipe'] });
  if (typeof out === 'number') closeSync(out);
  let text = '';
  child.stderr!.setEncoding('utf8');
  const origin = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: string) => {
      text += chunk;
      const match = /serving (http:\/\/[^\s/]+)\/content\//.exec(text);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code, signal) => reject(new Error(`tributary serve exited (${code ?? signal}) before listening: ${text}`)));
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    origin,
    pid: child.pid!,
    pids: () => [child.pid!, ...childrenOf(child.pid!)],
    stderr: () => text,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const [code, signal] = await exited;
      clearTimeout(timer);
      return String(code ?? signal);
    },
  };
}

/** Starts the upstream static server (serve-upstream.ts) over `root`; its base url ends in `/`. */
export async function startUpstream(root: string): Promise<{ url: string; pid: number; child: ChildProcess }> {
  const child = fork(path.join(__dirname, 'serve-upstream.js'), [root], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [message] = (await once(child, 'message')) as [{ url: string; pid: number }];
  return { ...message, child };
}

/** Starts the plain forwarding proxy (serve-proxy.ts) in front of `upstream`; its base url ends in `/`. */
export async function startProxy(upstream: string): Promise<{ url: string; pid: number; child: ChildProcess }> {
  const child = fork(path.join(__dirname, 'serve-proxy.js'), [upstream], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [message] = (await once(child, 'message')) as [{ url: string; pid: number }];
  return { ...message, child };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}

/** A running nginx: master pid, origin, and how to stop it. */
export interface NginxProcess {
  readonly origin: string;
  readonly pid: number;
  /** Pids of its master and worker processes. */
  pids(): number[];
  stop(): Promise<void>;
}

/**
 * Starts Debian's nginx in the foreground (`daemon off`) with a generated configuration under
 * `dir`: `worker_processes auto`, sendfile, no access log, serving `root` on 127.0.0.1:PORT.
 */
export async function startNginx(dir: string, root: string): Promise<NginxProcess> {
  const port = await freePort();
  mkdirSync(path.join(dir, 'temp'), { recursive: true });
  const temp = (name: string) => path.join(dir, 'temp', name);
  const runningAsRoot = process.getuid?.() === 0;
  const conf = `${runningAsRoot ? 'user root;\n' : ''}worker_processes auto;
error_log ${path.join(dir, 'error.log')} warn;
pid ${path.join(dir, 'nginx.pid')};
events { worker_connections 4096; }
http {
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${temp('body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`;
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const child = spawn('nginx', ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const origin = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}; see ${path.join(dir, 'error.log')}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) break;
    if (attempt > 100) throw new Error('nginx did not start listening');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const exited = once(child, 'exit');
  return {
    origin,
    pid: child.pid!,
    pids: () => [child.pid!, ...childrenOf(child.pid!)],
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The pids of a process's children. */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) children.push(Number(name));
    } catch {
      // gone
    }
  }
  return children;
}

/** CPU seconds (user + system, all threads) a process has used, from /proc/PID/stat; 0 when gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Busy and total jiffies of the whole machine (/proc/stat), for the share of the CPUs in use. */
export function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/** VmRSS and VmHWM (peak RSS) of a process in bytes, from /proc/PID/status. */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** What a wrk run measured (from its `done` hook). */
export interface WrkResult {
  readonly seconds: number;
  readonly requests: number;
  readonly bytes: number;
  readonly requestsPerSecond: number;
  readonly bytesPerSecond: number;
  /** Socket errors: connect, read, write, timeout; and responses other than 2xx/3xx. */
  readonly errors: { connect: number; read: number; write: number; timeout: number; status: number };
  readonly latencyMs: { p50: number; p99: number; max: number };
}

/**
 * A wrk script that rotates through `paths` (each thread starting elsewhere in the list) and
 * prints its summary as one JSON line.
 */
function wrkScript(paths: readonly string[]): string {
  return `local paths = {
${paths.map((p) => `  ${JSON.stringify(p)},`).join('\n')}
}
local threads = 0
function setup(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end
local i = 0
function init(args)
  i = (offset or 0) % #paths
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"duration_us":%d,"requests":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`;
}

/** Runs `wrk -tT -cC -dDs --latency` against `origin` rotating through `paths`. */
export async function runWrk(options: {
  origin: string;
  paths: readonly string[];
  threads: number;
  connections: number;
  seconds: number;
  timeoutSeconds: number;
  scriptFile: string;
}): Promise<WrkResult> {
  writeFileSync(options.scriptFile, wrkScript(options.paths));
  const args = [`-t${options.threads}`, `-c${options.connections}`, `-d${options.seconds}s`, `--timeout`, `${options.timeoutSeconds}s`, '--latency', '-s', options.scriptFile, `${options.origin}${options.paths[0]}`];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile('wrk', args, { maxBuffer: 16 * 1024 * 1024 }, (error, out, err) => {
      if (error) reject(new Error(`wrk ${args.join(' ')} failed: ${err || error.message}`));
      else resolve(out);
    });
  });
  const line = stdout.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  const raw = JSON.parse(line.slice('WRKJSON '.length)) as Record<string, number>;
  const seconds = raw.duration_us! / 1e6;
  return {
    seconds,
    requests: raw.requests!,
    bytes: raw.bytes!,
    requestsPerSecond: raw.requests! / seconds,
    bytesPerSecond: raw.bytes! / seconds,
    errors: { connect: raw.connect!, read: raw.read!, write: raw.write!, timeout: raw.timeout!, status: raw.status! },
    latencyMs: { p50: raw.p50_us! / 1000, p99: raw.p99_us! / 1000, max: raw.max_us! / 1000 },
  };
}

/** One `curl` download to /dev/null: status, bytes and curl's own total time. */
export function curlDownload(url: string): Promise<{ status: number; bytes: number; seconds: number; firstByteSeconds: number }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total} %{time_starttransfer}', url], (error, stdout, stderr) => {
      if (error) reject(new Error(`curl ${url} failed: ${stderr || error.message}`));
      else {
        const [status, bytes, seconds, first] = stdout.trim().split(' ').map(Number);
        resolve({ status: status!, bytes: bytes!, seconds: seconds!, firstByteSeconds: first! });
      }
    });
  });
}

/** sha256 and size of a GET's body (read whole; for spot checks of small or medium files). */
export async function fetchDigest(url: string): Promise<{ status: number; sha256: string; size: number }> {
  const response = await fetch(url);
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { status: response.status, sha256: hash.digest('hex'), size };
}

/** Writes `size` random bytes to `file` (creating its directory); returns their sha256. */
export function writeRandomFile(file: string, size: number): string {
  mkdirSync(path.dirname(file), { recursive: true });
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(Math.min(size, 4 * 1024 * 1024));
  const fd = openSync(file, 'w');
  try {
    for (let done = 0; done < size; ) {
      const n = Math.min(chunk.length, size - done);
      const part = chunk.subarray(0, n);
      randomFillSync(part);
      hash.update(part);
      writeSync(fd, part);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
