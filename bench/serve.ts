/**
 * Serving benchmark: `tributary serve` (the fastify content app) against nginx serving the same
 * stored files, and on-demand fetches against a direct download. Prints figures; asserts nothing.
 *
 *   npm run bench:serve [-- --json] [-- --keep]
 *
 * Tributary is driven as a user drives it, through the CLI in child processes: file repositories
 * generated under a temp dir are served by a plain Node upstream (serve-upstream.ts), synced with
 * `tributary sync` (immediate, or on_demand for (c)), given distributions, and served by
 * `tributary serve --listen 127.0.0.1:0`. nginx (worker_processes auto, sendfile, no access log)
 * serves a tree of hard links to the very files in Tributary's storage. wrk is the load generator
 * (a warm-up run, then the measured one, for each server; nginx runs before and after Tributary and
 * the better of its two runs counts, so a noisy neighbour does not flatter the ratio).
 *   (a) requests/s for SMALL_FILES distinct stored files of SMALL_SIZE bytes, rotating, 64 connections
 *   (b) MiB/s for one stored BIG_MIB file at 8 connections
 *   (c) first fetch of a fresh ONDEMAND_MIB on_demand artifact through serve vs curl straight from
 *       the upstream (direct first, then through a plain Node forwarding proxy as the floor, then
 *       through serve), ROUNDS rounds, median
 *   (d) peak RSS (VmHWM) of a fresh serve process while RSS_CLIENTS clients download RSS_FILE_MIB
 *       stored files, each reading at most RSS_CLIENT_MIBPS
 *
 * Environment (defaults): BENCH_SECONDS (10) and BENCH_WARMUP_SECONDS (2) per wrk run,
 * BENCH_THREADS (2), BENCH_SMALL_FILES (2000), BENCH_SMALL_SIZE (16384), BENCH_SMALL_CONNECTIONS (64),
 * BENCH_BIG_MIB (256), BENCH_BIG_CONNECTIONS (8), BENCH_ONDEMAND_MIB (64), BENCH_ONDEMAND_ROUNDS (5),
 * BENCH_RSS_CLIENTS (200), BENCH_RSS_FILES (16), BENCH_RSS_FILE_MIB (32), BENCH_RSS_CLIENT_MIBPS (3),
 * BENCH_RSS_MAX_SECONDS (60), BENCH_SCENARIOS (a,b,c,d), BENCH_SERVE_NODE_ARGS (extra node flags
 * for the serve processes, e.g. `--cpu-prof --cpu-prof-dir=DIR`).
 */
import { execFile, spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { flushDisks, goalsLine, runBenchmark } from './bench-process.js';
import type { ClientsResult } from './serve-clients.js';
import {
  curlDownload,
  fetchDigest,
  machineJiffies,
  memoryOf,
  processCpuSeconds,
  runCli,
  runWrk,
  startNginx,
  startProxy,
  startServe,
  startUpstream,
  writeRandomFile,
  type NginxProcess,
  type ServeProcess,
  type WrkResult,
} from './serve-tools.js';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, keep: { type: 'boolean', default: false } } });

const env = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
const SECONDS = env('BENCH_SECONDS', 10);
const WARMUP = env('BENCH_WARMUP_SECONDS', 2);
const THREADS = env('BENCH_THREADS', 2);
const SMALL_FILES = env('BENCH_SMALL_FILES', 2000);
const SMALL_SIZE = env('BENCH_SMALL_SIZE', 16 * 1024);
const SMALL_CONNECTIONS = env('BENCH_SMALL_CONNECTIONS', 64);
const BIG_MIB = env('BENCH_BIG_MIB', 256);
const BIG_CONNECTIONS = env('BENCH_BIG_CONNECTIONS', 8);
const ONDEMAND_MIB = env('BENCH_ONDEMAND_MIB', 64);
const ONDEMAND_ROUNDS = env('BENCH_ONDEMAND_ROUNDS', 5);
const RSS_CLIENTS = env('BENCH_RSS_CLIENTS', 200);
const RSS_FILES = env('BENCH_RSS_FILES', 16);
const RSS_FILE_MIB = env('BENCH_RSS_FILE_MIB', 32);
const RSS_CLIENT_MIBPS = env('BENCH_RSS_CLIENT_MIBPS', 3);
const RSS_MAX_SECONDS = env('BENCH_RSS_MAX_SECONDS', 60);
const SCENARIOS = new Set((process.env.BENCH_SCENARIOS ?? 'a,b,c,d').split(',').map((s) => s.trim()));

const MIB = 1024 * 1024;
const fixed = (value: number, digits = 2) => value.toFixed(digits);
const median = (xs: readonly number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const workDir = mkdtempSync(path.join(os.tmpdir(), 'tributary-bench-serve-'));
const upstreamRoot = path.join(workDir, 'upstream');
const home = path.join(workDir, 'home');
const nginxDir = path.join(workDir, 'nginx');
const nginxRoot = path.join(nginxDir, 'root');

/** A generated file repository: its name (= repository, distribution and base path) and files. */
interface GeneratedRepo {
  readonly name: string;
  readonly files: { readonly relativePath: string; readonly sha256: string; readonly size: number }[];
}

/** Writes random files under upstream/NAME/ and their PULP_MANIFEST. */
function generateRepo(name: string, count: number, size: number, relativePath: (i: number) => string): GeneratedRepo {
  const files = Array.from({ length: count }, (_, i) => {
    const rel = relativePath(i);
    return { relativePath: rel, sha256: writeRandomFile(path.join(upstreamRoot, name, rel), size), size };
  });
  writeFileSync(path.join(upstreamRoot, name, 'PULP_MANIFEST'), files.map((f) => `${f.relativePath},${f.sha256},${f.size}\n`).join(''));
  return { name, files };
}

/** `tributary sync NAME --create …` from the upstream, then a distribution at base path NAME. */
async function syncRepo(upstream: string, repo: GeneratedRepo, policy: 'immediate' | 'on_demand'): Promise<number> {
  const started = performance.now();
  await runCli(home, ['sync', repo.name, '--create', '--importer', 'file', '--url', `${upstream}${repo.name}/PULP_MANIFEST`, '--policy', policy]);
  const seconds = (performance.now() - started) / 1000;
  await runCli(home, ['distribution', 'create', repo.name, '--repository', repo.name, '--base-path', repo.name]);
  return seconds;
}

/** nginx's document root: root/NAME/<relative path>, hard links to the files in Tributary's storage. */
function linkForNginx(repo: GeneratedRepo): void {
  for (const file of repo.files) {
    const target = path.join(nginxRoot, repo.name, file.relativePath);
    mkdirSync(path.dirname(target), { recursive: true });
    linkSync(path.join(home, 'storage', 'artifacts', file.sha256.slice(0, 2), file.sha256), target);
  }
}

/** CPU used by some processes, and by the whole machine, over a measured step. */
function cpuMeter(pids: () => number[]): () => { processSeconds: number; processPercent: number; machinePercent: number } {
  const wall0 = performance.now();
  const cpu0 = pids().reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
  const machine0 = machineJiffies();
  return () => {
    const seconds = (performance.now() - wall0) / 1000;
    const cpu = pids().reduce((sum, pid) => sum + processCpuSeconds(pid), 0) - cpu0;
    const machine = machineJiffies();
    return { processSeconds: cpu, processPercent: (100 * cpu) / seconds, machinePercent: (100 * (machine.busy - machine0.busy)) / (machine.total - machine0.total) };
  };
}

interface LoadFigures extends WrkResult {
  /** CPU time of the server's processes (all threads) during the measured run. */
  readonly serverCpuSeconds: number;
  readonly serverCpuPercent: number;
  readonly machineCpuPercent: number;
}

/** A wrk warm-up, then the measured run, with the server's and the machine's CPU during it. */
async function load(origin: string, pids: () => number[], paths: readonly string[], connections: number, label: string): Promise<LoadFigures> {
  const common = { origin, paths, threads: THREADS, connections, timeoutSeconds: 120, scriptFile: path.join(workDir, `${label}.lua`) };
  await runWrk({ ...common, seconds: WARMUP });
  const meter = cpuMeter(pids);
  const result = await runWrk({ ...common, seconds: SECONDS });
  const cpu = meter();
  return { ...result, serverCpuSeconds: cpu.processSeconds, serverCpuPercent: cpu.processPercent, machineCpuPercent: cpu.machinePercent };
}

/** Server CPU time per request (µs) and per GiB sent (s): steadier than rates on a shared VM. */
const perRequest = (r: LoadFigures) => fixed((1e6 * r.serverCpuSeconds) / r.requests, 0);
const perGiB = (r: LoadFigures) => fixed(r.serverCpuSeconds / (r.bytes / (1024 * MIB)), 2);

function wrkErrors(result: WrkResult): string {
  const e = result.errors;
  const parts = Object.entries(e).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
  return parts.length === 0 ? 'no errors' : `ERRORS: ${parts.join(', ')}`;
}

function runClients(task: { urls: string[]; clients: number; bytesPerSecond: number; maxSeconds: number }): Promise<ClientsResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, 'serve-clients.js'), JSON.stringify(task)], { maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`clients failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as ClientsResult);
    });
  });
}

/** Peak memory of some processes while `run` goes: the sum of their VmHWM, and the peak VmRSS sampled. */
async function peakMemory<T>(pids: () => number[], run: () => Promise<T>): Promise<{ result: T; hwm: number; sampledRss: number; rssBefore: number }> {
  const sum = (key: 'rss' | 'hwm') => pids().reduce((total, pid) => total + memoryOf(pid)[key], 0);
  const rssBefore = sum('rss');
  let sampledRss = rssBefore;
  const timer = setInterval(() => {
    sampledRss = Math.max(sampledRss, sum('rss'));
  }, 100);
  try {
    const result = await run();
    return { result, hwm: sum('hwm'), sampledRss, rssBefore };
  } finally {
    clearInterval(timer);
  }
}

interface Row {
  readonly scenario: string;
  readonly tributary: string;
  readonly reference: string;
  readonly ratio: string;
  readonly goal: string;
  readonly met: boolean | undefined;
}

function table(rows: readonly Row[]): string[] {
  const header = ['scenario', 'Tributary', 'nginx / floor', 'ratio', 'goal', 'result'];
  const cells = rows.map((r) => [r.scenario, r.tributary, r.reference, r.ratio, r.goal, r.met === undefined ? '—' : r.met ? 'pass' : 'FAIL']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)];
}

async function main(): Promise<void> {
  const lines: string[] = [];
  const print = (line: string) => {
    lines.push(line);
    if (!values.json) process.stdout.write(`${line}\n`);
  };
  const note = (line: string) => process.stderr.write(`  … ${line}\n`);
  const results: Record<string, unknown> = {};
  const rows: Row[] = [];
  const goals: [string, boolean][] = [];
  print(`serve benchmark — tributary serve vs nginx (${execFileText('nginx', ['-v'])}), wrk -t${THREADS}, ${SECONDS} s runs after ${WARMUP} s warm-ups, node ${process.version}, ${os.cpus().length} CPUs, load average ${loadText()}`);

  let upstream: Awaited<ReturnType<typeof startUpstream>> | undefined;
  let nginx: NginxProcess | undefined;
  let serve: ServeProcess | undefined;
  try {
    // the repositories, generated and served by the upstream, synced into one home
    let started = performance.now();
    const small = SCENARIOS.has('a') ? generateRepo('small', SMALL_FILES, SMALL_SIZE, (i) => `files/${(i % 256).toString(16).padStart(2, '0')}/file-${i}.bin`) : undefined;
    const big = SCENARIOS.has('b') ? generateRepo('big', 1, BIG_MIB * MIB, () => 'big.bin') : undefined;
    const large = SCENARIOS.has('d') ? generateRepo('large', RSS_FILES, RSS_FILE_MIB * MIB, (i) => `large/large-${i}.bin`) : undefined;
    // one on_demand repository, a file of new random bytes for each round of (c)
    const onDemand = SCENARIOS.has('c') ? generateRepo('ondemand', ONDEMAND_ROUNDS, ONDEMAND_MIB * MIB, (r) => `fresh/fresh-${r}.bin`) : undefined;
    note(`generated upstream files in ${fixed((performance.now() - started) / 1000, 1)} s`);
    upstream = await startUpstream(upstreamRoot);
    started = performance.now();
    const syncs: string[] = [];
    for (const repo of [small, big, large]) {
      if (repo) syncs.push(`${repo.name} ${fixed(await syncRepo(upstream.url, repo, 'immediate'))} s`);
    }
    if (onDemand) {
      await syncRepo(upstream.url, onDemand, 'on_demand');
      await runCli(home, ['publish', onDemand.name]);
    }
    for (const repo of [small, big, large]) if (repo) linkForNginx(repo);
    note(`synced (immediate: ${syncs.join(', ')}) and linked in ${fixed((performance.now() - started) / 1000, 1)} s`);
    flushDisks();

    nginx = await startNginx(nginxDir, nginxRoot);
    const nginxPids = nginx.pids;

    if (small || big) {
      serve = await startServe(home);
      const servePids = serve.pids;
      const tributaryPath = (repo: GeneratedRepo, rel: string) => `/content/${repo.name}/${rel}`;
      const nginxPath = (repo: GeneratedRepo, rel: string) => `/${repo.name}/${rel}`;
      // both answer with the stored bytes
      const checks: [GeneratedRepo, GeneratedRepo['files'][number]][] = [];
      if (small) checks.push([small, small.files[0]!], [small, small.files.at(-1)!]);
      if (big) checks.push([big, big.files[0]!]);
      for (const [repo, file] of checks) {
        for (const [origin, url] of [
          [serve.origin, tributaryPath(repo, file.relativePath)],
          [nginx.origin, nginxPath(repo, file.relativePath)],
        ] as const) {
          const got = await fetchDigest(`${origin}${url}`);
          if (got.status !== 200 || got.sha256 !== file.sha256) throw new Error(`${origin}${url}: status ${got.status}, ${got.size} bytes, sha256 ${got.sha256} — expected ${file.sha256}`);
        }
      }

      if (small) {
        const paths = small.files.map((f) => f.relativePath);
        note(`(a) ${SMALL_FILES} × ${SMALL_SIZE} B, ${SMALL_CONNECTIONS} connections: nginx, tributary serve, nginx`);
        const nginxRun = () => load(nginx!.origin, nginxPids, paths.map((p) => nginxPath(small, p)), SMALL_CONNECTIONS, 'a-nginx');
        const nBefore = await nginxRun();
        const t = await load(serve.origin, servePids, paths.map((p) => tributaryPath(small, p)), SMALL_CONNECTIONS, 'a-tributary');
        const nAfter = await nginxRun();
        const n = nBefore.requestsPerSecond >= nAfter.requestsPerSecond ? nBefore : nAfter;
        results.a = { tributary: t, nginx: n, nginxRuns: [nBefore, nAfter] };
        const ratio = t.requestsPerSecond / n.requestsPerSecond;
        rows.push({ scenario: `(a) ${SMALL_FILES} × ${SMALL_SIZE / 1024} KiB stored, ${SMALL_CONNECTIONS} conns, req/s`, tributary: fixed(t.requestsPerSecond, 0), reference: fixed(n.requestsPerSecond, 0), ratio: fixed(ratio), goal: '≥ 0.5', met: ratio >= 0.5 });
        goals.push(['(a) req/s ≥ 0.5× nginx', ratio >= 0.5]);
        print(`(a) tributary: ${fixed(t.requestsPerSecond, 0)} req/s, p50 ${fixed(t.latencyMs.p50)} ms, p99 ${fixed(t.latencyMs.p99)} ms, serve CPU ${fixed(t.serverCpuPercent, 0)}% = ${perRequest(t)} µs a request, machine ${fixed(t.machineCpuPercent, 0)}% busy, ${wrkErrors(t)}`);
        print(`    nginx:     ${fixed(n.requestsPerSecond, 0)} req/s (before ${fixed(nBefore.requestsPerSecond, 0)}, after ${fixed(nAfter.requestsPerSecond, 0)}; the better counts), p50 ${fixed(n.latencyMs.p50)} ms, p99 ${fixed(n.latencyMs.p99)} ms, nginx CPU ${fixed(n.serverCpuPercent, 0)}% = ${perRequest(n)} µs a request, machine ${fixed(n.machineCpuPercent, 0)}% busy, ${wrkErrors(n)}`);
      }

      if (big) {
        const rel = big.files[0]!.relativePath;
        note(`(b) ${BIG_MIB} MiB, ${BIG_CONNECTIONS} connections: nginx, tributary serve, nginx`);
        const nginxRun = () => load(nginx!.origin, nginxPids, [nginxPath(big, rel)], BIG_CONNECTIONS, 'b-nginx');
        const nBefore = await nginxRun();
        const t = await load(serve.origin, servePids, [tributaryPath(big, rel)], BIG_CONNECTIONS, 'b-tributary');
        const nAfter = await nginxRun();
        const n = nBefore.bytesPerSecond >= nAfter.bytesPerSecond ? nBefore : nAfter;
        results.b = { tributary: t, nginx: n, nginxRuns: [nBefore, nAfter] };
        const ratio = t.bytesPerSecond / n.bytesPerSecond;
        rows.push({ scenario: `(b) 1 × ${BIG_MIB} MiB stored, ${BIG_CONNECTIONS} conns, MiB/s`, tributary: fixed(t.bytesPerSecond / MIB, 0), reference: fixed(n.bytesPerSecond / MIB, 0), ratio: fixed(ratio), goal: '≥ 0.6', met: ratio >= 0.6 });
        goals.push(['(b) MiB/s ≥ 0.6× nginx', ratio >= 0.6]);
        print(`(b) tributary: ${fixed(t.bytesPerSecond / MIB, 0)} MiB/s (${t.requests} bodies), serve CPU ${fixed(t.serverCpuPercent, 0)}% = ${perGiB(t)} s a GiB, machine ${fixed(t.machineCpuPercent, 0)}% busy, ${wrkErrors(t)}`);
        print(`    nginx:     ${fixed(n.bytesPerSecond / MIB, 0)} MiB/s (before ${fixed(nBefore.bytesPerSecond / MIB, 0)}, after ${fixed(nAfter.bytesPerSecond / MIB, 0)}; the better counts; ${n.requests} bodies), nginx CPU ${fixed(n.serverCpuPercent, 0)}% = ${perGiB(n)} s a GiB, machine ${fixed(n.machineCpuPercent, 0)}% busy, ${wrkErrors(n)}`);
      }
      const memory = servePids().map(memoryOf).reduce((sum, m) => ({ rss: sum.rss + m.rss, hwm: sum.hwm + m.hwm }), { rss: 0, hwm: 0 });
      print(`    serve processes (${servePids().length}) after (a)/(b), summed: VmRSS ${fixed(memory.rss / MIB, 0)} MiB, VmHWM ${fixed(memory.hwm / MIB, 0)} MiB`);
      const code = await serve.stop();
      reportServeStderr(print, serve, code);
      serve = undefined;
    }

    if (onDemand) {
      // (c) a fresh serve process with its access log; each round's artifact is new random bytes
      const accessLog = path.join(workDir, 'access-c.log');
      serve = await startServe(home, accessLog);
      const rounds: { direct: number; proxy: number; onDemand: number; firstByte: number; serveCpu: number; stored: number }[] = [];
      const repo = onDemand;
      // the floor: what a plain Node process forwarding the bytes (no verifying, no storing) takes
      const proxy = await startProxy(upstream.url);
      // the distribution and its publication are looked up once before the measured fetches
      const manifest = await curlDownload(`${serve.origin}/content/${repo.name}/PULP_MANIFEST`);
      if (manifest.status !== 200) throw new Error(`PULP_MANIFEST of ${repo.name}: status ${manifest.status}`);
      for (const file of repo.files) {
        const direct = await curlDownload(`${upstream.url}${repo.name}/${file.relativePath}`);
        const viaProxy = await curlDownload(`${proxy.url}${repo.name}/${file.relativePath}`);
        const cpuBefore = serve.pids().reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
        const through = await curlDownload(`${serve.origin}/content/${repo.name}/${file.relativePath}`);
        const serveCpu = serve.pids().reduce((sum, pid) => sum + processCpuSeconds(pid), 0) - cpuBefore;
        if (direct.status !== 200 || through.status !== 200 || viaProxy.status !== 200 || through.bytes !== file.size || direct.bytes !== file.size || viaProxy.bytes !== file.size) {
          throw new Error(`(c) ${file.relativePath}: direct ${direct.status}/${direct.bytes} B, plain proxy ${viaProxy.status}/${viaProxy.bytes} B, through serve ${through.status}/${through.bytes} B, expected ${file.size} B`);
        }
        // the second fetch is of stored bytes: they must be the right ones
        const startedStored = performance.now();
        const stored = await fetchDigest(`${serve.origin}/content/${repo.name}/${file.relativePath}`);
        const storedSeconds = (performance.now() - startedStored) / 1000;
        if (stored.sha256 !== file.sha256) throw new Error(`(c) ${file.relativePath}: stored copy has sha256 ${stored.sha256}, expected ${file.sha256}`);
        rounds.push({ direct: direct.seconds, proxy: viaProxy.seconds, onDemand: through.seconds, firstByte: through.firstByteSeconds, serveCpu, stored: storedSeconds });
        print(
          `(c) round ${rounds.length}: direct ${fixed(direct.seconds, 3)} s, plain Node proxy ${fixed(viaProxy.seconds, 3)} s (${fixed(viaProxy.seconds / direct.seconds)}×), through serve (on demand) ${fixed(through.seconds, 3)} s (first byte after ${fixed(through.firstByteSeconds * 1000, 0)} ms, serve CPU ${fixed(serveCpu)} s), ratio ${fixed(through.seconds / direct.seconds)}; then stored: ${fixed(storedSeconds, 3)} s (sha256 checked)`,
        );
      }
      proxy.child.kill();
      print(`(c) plain Node proxy (undici to http, nothing verified or stored): median ${fixed(median(rounds.map((r) => r.proxy)), 3)} s, ${fixed(median(rounds.map((r) => r.proxy / r.direct)))}× direct; serve CPU a fetch, median ${fixed(median(rounds.map((r) => r.serveCpu)))} s`);
      const ratios = rounds.map((r) => r.onDemand / r.direct);
      const ratio = median(ratios);
      results.c = { rounds, medianRatio: ratio };
      rows.push({ scenario: `(c) on-demand first fetch, ${ONDEMAND_MIB} MiB, s (median of ${rounds.length})`, tributary: fixed(median(rounds.map((r) => r.onDemand)), 3), reference: fixed(median(rounds.map((r) => r.direct)), 3), ratio: fixed(ratio), goal: '≤ 1.2', met: ratio <= 1.2 });
      goals.push(['(c) on-demand ≤ 1.2× direct', ratio <= 1.2]);
      const code = await serve.stop();
      reportServeStderr(print, serve, code);
      reportAccessLog(print, accessLog);
      serve = undefined;
    }

    if (large) {
      // (d) a fresh serve process, so its VmHWM is this scenario's (plus start-up)
      const accessLog = path.join(workDir, 'access-d.log');
      serve = await startServe(home, accessLog);
      const servePids = serve.pids;
      const task = (origin: string, prefix: string) => ({
        urls: large.files.map((f) => `${origin}${prefix}${f.relativePath}`),
        clients: RSS_CLIENTS,
        bytesPerSecond: RSS_CLIENT_MIBPS * MIB,
        maxSeconds: RSS_MAX_SECONDS,
      });
      await curlDownload(`${serve.origin}/content/${large.name}/PULP_MANIFEST`);
      note(`(d) ${RSS_CLIENTS} clients × ${RSS_FILE_MIB} MiB at ≤ ${RSS_CLIENT_MIBPS} MiB/s each: tributary serve`);
      const t = await peakMemory(servePids, () => runClients(task(serve!.origin, `/content/${large.name}/`)));
      note('(d) nginx');
      const n = await peakMemory(nginxPids, () => runClients(task(nginx!.origin, `/${large.name}/`)));
      results.d = { tributary: t, nginx: n };
      const clientsText = (r: ClientsResult) =>
        `${r.completed}/${r.clients} complete${r.incomplete ? `, ${r.incomplete} cut short` : ''}${r.failed ? `, ${r.failed} failed` : ''} in ${fixed(r.seconds, 1)} s (${fixed(r.bytes / MIB / r.seconds, 0)} MiB/s in all), statuses ${JSON.stringify(r.statuses)}${r.errors.length ? `, errors ${JSON.stringify(r.errors)}` : ''}`;
      print(`(d) tributary: VmHWM ${fixed(t.hwm / MIB, 0)} MiB (VmRSS ${fixed(t.rssBefore / MIB, 0)} MiB before, ${fixed(t.sampledRss / MIB, 0)} MiB peak sampled); ${clientsText(t.result)}`);
      print(`    nginx (master + workers, summed): VmHWM ${fixed(n.hwm / MIB, 0)} MiB (VmRSS ${fixed(n.rssBefore / MIB, 0)} MiB before); ${clientsText(n.result)}`);
      const met = t.hwm <= 200 * MIB;
      rows.push({ scenario: `(d) peak RSS, ${RSS_CLIENTS} clients × ${RSS_FILE_MIB} MiB stored, MiB`, tributary: fixed(t.hwm / MIB, 0), reference: `${fixed(n.hwm / MIB, 0)} (nginx)`, ratio: '—', goal: '≤ 200 MiB', met });
      goals.push(['(d) peak RSS ≤ 200 MiB', met]);
      const code = await serve.stop();
      reportServeStderr(print, serve, code);
      reportAccessLog(print, accessLog);
      serve = undefined;
    }

    print('');
    for (const line of table(rows)) print(line);
    print(goalsLine(goals));
    print(`load average at the end: ${loadText()}`);
    if (values.json) process.stdout.write(`${JSON.stringify({ results, rows, goals: Object.fromEntries(goals) }, null, 2)}\n`);
  } finally {
    await serve?.stop().catch(() => undefined);
    await nginx?.stop().catch(() => undefined);
    upstream?.child.kill();
    if (!values.keep) rmSync(workDir, { recursive: true, force: true });
    else process.stderr.write(`kept ${workDir}\n`);
  }
}

/** Warnings and errors a serve process wrote, and how it exited (SIGTERM should end it with 0). */
function reportServeStderr(print: (line: string) => void, serve: ServeProcess, code: string): void {
  const odd = serve
    .stderr()
    .split('\n')
    .filter((l) => l.length > 0 && !/^serving |^stopping: /.test(l) && !/^info: fetched on demand and stored/.test(l));
  if (code !== '0' || odd.length > 0) print(`    serve exited with ${code}${odd.length ? `; stderr: ${odd.slice(0, 5).join(' | ')}${odd.length > 5 ? ` (+${odd.length - 5} lines)` : ''}` : ''}`);
}

/** Statuses in a serve process's access log when any was not a 200, and responses it marks incomplete. */
function reportAccessLog(print: (line: string) => void, file: string): void {
  const statuses: Record<string, number> = {};
  let incomplete = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = / (GET|HEAD) \S+ (\d{3}) /.exec(line);
    if (match) statuses[match[2]!] = (statuses[match[2]!] ?? 0) + 1;
    if (line.endsWith(' incomplete')) incomplete++;
  }
  if (Object.keys(statuses).some((s) => s !== '200') || incomplete > 0) print(`    access log statuses: ${JSON.stringify(statuses)}, ${incomplete} marked incomplete`);
}

/** The 1, 5 and 15 minute load averages: how busy the (shared) machine was around the run. */
function loadText(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
}

/** What `nginx -v` says (on stderr), without its prefix. */
function execFileText(command: string, args: string[]): string {
  const out = spawnSync(command, args, { encoding: 'utf8' });
  return `${out.stdout ?? ''}${out.stderr ?? ''}`.trim().replace(/^nginx version: /, '') || 'unknown version';
}

runBenchmark(main);
