/**
 * RPM-repository sync benchmark (issue 4). Prints figures; asserts nothing.
 *
 *   npm run bench:rpm -- [--store URI] [--packages 100000] [--advisories 0] [--json] [--keep]
 *
 * Generates primary.xml.gz with PACKAGES packages (~250 MB of XML at 100,000), filelists.xml.gz and
 * other.xml.gz (~170 and ~70 MB), with --advisories
 * also updateinfo.xml.gz with that many advisories of ten packages each (multi-level discovery:
 * each links to the package units of the same sync), and its repomd.xml,
 * serves them from a separate server process on 127.0.0.1, and runs, each in a fresh child process
 * (so each peak RSS is its own):
 *   - an on_demand sync into an empty host: seconds, packages/s, peak RSS;
 *   - the floor: the same primary, filelists and other decompressed and parsed by the same parsers
 *     (one thread, one after the other), nothing else;
 *   - the ratio sync / floor.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateRpmRepo } from './rpm-primary-generator.js';
import type { RpmWorkerResult, RpmWorkerTask } from './rpm-sync-worker.js';
import { cpuText, flushDisks, goalsLine, runBenchmark, startRpmRepoServer } from './bench-process.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string' },
    packages: { type: 'string', default: '100000' },
    advisories: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const packageCount = Number(values.packages);
const advisoryCount = Number(values.advisories);
const runId = `${Date.now().toString(36)}${process.pid}`;
const workDir = mkdtempSync(path.join(os.tmpdir(), 'tributary-bench-rpm-'));

function runWorker(task: RpmWorkerTask): Promise<RpmWorkerResult> {
  flushDisks();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, 'rpm-sync-worker.js'), JSON.stringify(task)], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`worker failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop() as string) as RpmWorkerResult);
    });
  });
}

const mb = (bytes: number) => bytes / (1024 * 1024);
const fixed = (value: number, digits = 2) => value.toFixed(digits);

async function main(): Promise<void> {
  const lines: string[] = [];
  const print = (line: string) => {
    lines.push(line);
    if (!values.json) process.stdout.write(`${line}\n`);
  };
  const repoDir = path.join(workDir, 'upstream', 'repo');
  const generated = await generateRpmRepo(repoDir, packageCount, advisoryCount);
  print(
    `rpm-sync benchmark — store: ${values.store ?? 'embedded SQLite'}, node ${process.version}, ${os.cpus().length} CPUs; ` +
      `primary.xml.gz: ${generated.packages} packages, ${fixed(mb(generated.openSize), 0)} MiB XML, ${fixed(mb(generated.size), 1)} MiB gzip; ` +
      `filelists ${fixed(mb(generated.filelists.openSize), 0)} MiB XML (${fixed(mb(generated.filelists.size), 1)} MiB gzip), other ${fixed(mb(generated.other.openSize), 0)} MiB XML (${fixed(mb(generated.other.size), 1)} MiB gzip)` +
      (generated.advisories > 0 ? `; updateinfo.xml.gz: ${generated.advisories} advisories of 10 packages` : ''),
  );
  const { url, child } = await startRpmRepoServer(path.join(workDir, 'upstream'));
  try {
    const floorTask: RpmWorkerTask = {
      kind: 'floor',
      primaryPath: generated.primaryPath,
      openSize: generated.openSize,
      details: { filelists: { path: generated.filelists.path, openSize: generated.filelists.openSize }, other: { path: generated.other.path, openSize: generated.other.openSize } },
    };
    // the floor runs before and after the sync and the faster counts, so the ratio is not flattered
    const floorBefore = await runWorker(floorTask);
    const sync = await runWorker({
      kind: 'sync',
      home: path.join(workDir, 'home'),
      ...(values.store ? { store: values.store } : {}),
      ...(values.store?.startsWith('mongodb') ? { database: `tributary_bench_rpm_${runId}` } : {}),
      repository: 'bench-rpm',
      url: new URL('repo/', url).href,
    });
    const floorAfter = await runWorker(floorTask);
    const floor = floorBefore.seconds <= floorAfter.seconds ? floorBefore : floorAfter;
    const ratio = sync.seconds / floor.seconds;
    const load = os.loadavg()[0]!;
    print(`on_demand sync: ${sync.packages} packages${sync.advisories ? ` and ${sync.advisories} advisories` : ''} in ${fixed(sync.seconds)} s (${cpuText(sync)}), ${fixed(sync.packages / sync.seconds, 0)} packages/s, peak RSS ${fixed(mb(sync.peakRssBytes), 0)} MiB, ${sync.roundTrips} store round trips`);
    print(`floor (decompress + parse of primary, filelists and other, same parsers): ${floor.packages} packages in ${fixed(floor.seconds)} s (CPU ${fixed(floor.cpuSeconds)} s), ${fixed(floor.packages / floor.seconds, 0)} packages/s, peak RSS ${fixed(mb(floor.peakRssBytes), 0)} MiB`);
    print(`ratio sync / floor: ${fixed(ratio)} wall, ${fixed(sync.cpuSeconds / floor.cpuSeconds)} CPU; load average ${fixed(load)} on ${os.cpus().length} CPUs${load > os.cpus().length ? ' (a busy machine: wall times are inflated, CPU times less so)' : ''}`);
    const goals = [
      ['sync ≤ 15 s', sync.seconds <= 15],
      ['peak RSS ≤ 400 MB', sync.peakRssBytes <= 400 * 1000 * 1000],
      ['ratio ≤ 2.5', ratio <= 2.5],
    ] as const;
    print(goalsLine(goals));
    print(`stage timings of the sync, ms: ${JSON.stringify(sync.timings)}`);
    if (values.json) process.stdout.write(`${JSON.stringify({ generated, sync, floor, ratio, goals: Object.fromEntries(goals) }, null, 2)}\n`);
  } finally {
    child.kill();
    if (!values.keep) rmSync(workDir, { recursive: true, force: true });
    else process.stderr.write(`kept ${workDir}\n`);
  }
}

runBenchmark(main);
