/**
 * Mirror benchmark (issue 25): Tributary's immediate sync against `dnf reposync` of the same real
 * yum repository, and the CLI's start-up against `node -e 0`. Prints figures; asserts nothing.
 *
 *   npm run bench:mirror            (BENCH_ROUNDS=5, BENCH_STARTUP_RUNS=20; BENCH_SKIP_MIRROR=1
 *                                    or BENCH_SKIP_STARTUP=1 runs only the other section;
 *                                    BENCH_TRIBUTARY=…/dist/cli/main.js times another build,
 *                                    BENCH_TRIBUTARY_BEFORE=… another build's start-up beside it)
 *
 * Needs rpmbuild and createrepo_c (the repositories are built once and cached under
 * `.cache/bench-mirror/`), and for the comparison `dnf reposync`, which is a dnf plugin: on Debian
 * `apt-get install dnf-plugins-core`. Without it the bench says so and times Tributary alone
 * beside the curl floor.
 *
 * Mirror: for 400 × 256 KiB and 40 × 4 MiB packages, served by a separate static server process
 * on 127.0.0.1, alternating rounds of `dnf reposync` (empty directory and fresh cachedir each
 * round) and `tributary sync --create --importer rpm --policy immediate` (fresh --home each
 * round), both whole processes from spawn to exit; then a no-change re-sync of each (reposync
 * again into the same directory with the same cachedir; tributary sync again on the same home);
 * and one curl process fetching every file with 5 connections, the download floor. Prints each
 * round and the median ratio tributary / reposync (goal ≤ 1.0).
 *
 * NODE_EXTRA_CA_CERTS, if set, is left out of the mirror rounds' environment (both tools; the
 * bench says what it costs): node parses that file at every start, TLS or not, and dnf does not
 * read it. BENCH_KEEP_ENV=1 keeps it.
 *
 * Start-up: `tributary --version` and `tributary repo list` on a home with 10 repositories,
 * median of 20 runs each, interleaved with `node -e 0` (goal ≤ 4×).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { goalsLine, runBenchmark } from './bench-process.js';
import { buildMirrorRepo } from './mirror-repo-builder.js';
import { curlArgs, median, reposyncArgs, reposyncAvailable, timeProcess, TRIBUTARY, tributarySyncArgs, withoutExtraCaCerts } from './mirror-process.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const STARTUP_RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 20);
const CURL_CONNECTIONS = 5;

const log = (line: string) => process.stdout.write(`${line}\n`);
/** The environment of the timed processes of the mirror scenario (see withoutExtraCaCerts). */
const MIRROR_ENV = process.env.BENCH_KEEP_ENV === '1' ? process.env : withoutExtraCaCerts();
const s = (seconds: number) => `${seconds.toFixed(2)} s`;

async function startServer(dir: string): Promise<{ url: string; server: ChildProcess }> {
  const server = fork(path.join(__dirname, 'rpm-repo-server.js'), [dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [ready] = (await once(server, 'message')) as [{ url: string }];
  return { url: ready.url, server };
}

async function mirrorScenario(label: string, count: number, size: number, reposync: boolean, goals: [string, boolean][]): Promise<void> {
  const repo = await buildMirrorRepo(count, size, log);
  const files = ['repodata/repomd.xml', ...readdirSync(path.join(repo, 'repodata')).filter((f) => f !== 'repomd.xml').map((f) => `repodata/${f}`), ...readdirSync(repo).filter((f) => f.endsWith('.rpm'))];
  const { url, server } = await startServer(repo);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'tributary-bench-mirror-'));
  try {
    log(`\n== ${label}: ${count} packages × ${size >= 1 << 20 ? `${size >> 20} MiB` : `${size >> 10} KiB`} (${url})`);
    const tributaryTimes: number[] = [];
    const reposyncTimes: number[] = [];
    const ratios: number[] = [];
    let lastHome = '';
    let lastDnf: { dir: string; cache: string } | undefined;
    for (let round = 1; round <= ROUNDS; round++) {
      let line = `round ${round}:`;
      let dnfSeconds: number | undefined;
      if (reposync) {
        const dir = path.join(scratch, `reposync-${round}`);
        const cache = path.join(scratch, `dnf-cache-${round}`);
        dnfSeconds = await timeProcess('dnf', reposyncArgs(url, dir, cache), false, MIRROR_ENV);
        const got = readdirSync(dir).filter((f) => f.endsWith('.rpm')).length;
        if (got !== count) throw new Error(`reposync fetched ${got} of ${count} packages`);
        reposyncTimes.push(dnfSeconds);
        line += ` reposync ${s(dnfSeconds)}`;
        if (lastDnf) rmSync(lastDnf.dir, { recursive: true, force: true });
        lastDnf = { dir, cache };
      }
      const home = path.join(scratch, `home-${round}`);
      const seconds = await timeProcess(process.execPath, tributarySyncArgs(url, home), false, MIRROR_ENV);
      tributaryTimes.push(seconds);
      line += `${reposync ? ',' : ''} tributary ${s(seconds)}`;
      if (dnfSeconds !== undefined) {
        ratios.push(seconds / dnfSeconds);
        line += `, ratio ${(seconds / dnfSeconds).toFixed(2)}`;
      }
      log(line);
      if (lastHome) rmSync(lastHome, { recursive: true, force: true });
      lastHome = home;
    }
    log(`median: tributary ${s(median(tributaryTimes))}${reposync ? `, reposync ${s(median(reposyncTimes))}, ratio ${median(ratios).toFixed(2)} (goal ≤ 1.0)` : ''}`);
    if (reposync) goals.push([`${label} immediate`, median(ratios) <= 1.0]);

    // no-change re-syncs: the same home, the same download directory and cache
    const resyncT: number[] = [];
    const resyncD: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      let line = `no-change round ${round}:`;
      if (reposync && lastDnf) {
        const d = await timeProcess('dnf', reposyncArgs(url, lastDnf.dir, lastDnf.cache), false, MIRROR_ENV);
        resyncD.push(d);
        line += ` reposync ${s(d)},`;
      }
      const t = await timeProcess(process.execPath, tributarySyncArgs(url, lastHome), false, MIRROR_ENV);
      resyncT.push(t);
      log(`${line} tributary ${s(t)}`);
    }
    log(`no-change median: tributary ${s(median(resyncT))}${reposync ? `, reposync ${s(median(resyncD))} (goal: tributary ≤ reposync)` : ''}`);
    if (reposync) goals.push([`${label} no-change`, median(resyncT) <= median(resyncD)]);

    const floorDir = path.join(scratch, 'curl');
    const floor = await timeProcess('curl', curlArgs(url, files, floorDir, CURL_CONNECTIONS), false, MIRROR_ENV);
    rmSync(floorDir, { recursive: true, force: true });
    log(`floor: one curl process fetching all ${files.length} files, ${CURL_CONNECTIONS} connections: ${s(floor)}`);
  } finally {
    server.kill();
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function startupScenario(goals: [string, boolean][]): Promise<void> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'tributary-bench-startup-'));
  try {
    for (let i = 0; i < 10; i++) await timeProcess(process.execPath, [TRIBUTARY, '--home', home, 'repo', 'create', `repo-${i}`, '--importer', 'rpm', '--url', `http://127.0.0.1:9/repo-${i}/`]);
    const commands: [string, string[]][] = [
      ['node -e 0', ['-e', '0']],
      ['tributary --version', [TRIBUTARY, '--version']],
      ['tributary repo list', [TRIBUTARY, '--home', home, 'repo', 'list']],
    ];
    // another build interleaved in the same runs (the figures before a change, on the same load)
    const before = process.env.BENCH_TRIBUTARY_BEFORE;
    if (before) commands.push(['before: --version', [before, '--version']], ['before: repo list', [before, '--home', home, 'repo', 'list']]);
    const times = commands.map(() => [] as number[]);
    for (let run = 0; run < STARTUP_RUNS; run++) {
      for (const [i, [, args]] of commands.entries()) times[i]!.push(await timeProcess(process.execPath, args, true));
    }
    log(`\n== CLI start-up: median of ${STARTUP_RUNS} runs each, interleaved (home with 10 repositories)`);
    const base = median(times[0]!);
    for (const [i, [name]] of commands.entries()) {
      const m = median(times[i]!);
      log(`${name.padEnd(22)} ${(m * 1000).toFixed(0).padStart(5)} ms  (min ${(Math.min(...times[i]!) * 1000).toFixed(0)} ms)  ${(m / base).toFixed(2)}× node -e 0`);
      if (i > 0) goals.push([`${name} ≤ 4×`, m / base <= 4]);
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** Says what NODE_EXTRA_CA_CERTS, when set, costs a node process here, and how the mirror rounds run. */
async function extraCaCertsNote(): Promise<void> {
  if (process.env.NODE_EXTRA_CA_CERTS === undefined) return;
  const withIt: number[] = [];
  const without: number[] = [];
  for (let run = 0; run < 10; run++) {
    withIt.push(await timeProcess(process.execPath, ['-e', '0']));
    without.push(await timeProcess(process.execPath, ['-e', '0'], false, withoutExtraCaCerts()));
  }
  const ms = (values: number[]) => `${(median(values) * 1000).toFixed(0)} ms`;
  log(
    `\nNODE_EXTRA_CA_CERTS is set: node -e 0 takes ${ms(withIt)} with it, ${ms(without)} without (medians of 10); ` +
      (MIRROR_ENV === process.env ? 'the mirror rounds keep it (BENCH_KEEP_ENV=1)' : 'the mirror rounds run both tools without it (BENCH_KEEP_ENV=1 keeps it)'),
  );
}

async function main(): Promise<void> {
  const goals: [string, boolean][] = [];
  log(`bench:mirror — ${TRIBUTARY}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, node ${process.version}`);
  if (process.env.BENCH_SKIP_STARTUP !== '1') await startupScenario(goals);
  if (process.env.BENCH_SKIP_MIRROR !== '1') {
    const reposync = await reposyncAvailable();
    await extraCaCertsNote();
    if (!reposync) log('\ndnf reposync is not available (on Debian: apt-get install dnf-plugins-core): timing tributary alone, beside the curl floor');
    await mirrorScenario('400 × 256 KiB', 400, 256 << 10, reposync, goals);
    await mirrorScenario('40 × 4 MiB', 40, 4 << 20, reposync, goals);
  }
  log(`\n${goalsLine(goals)}`);
}

runBenchmark(main);
