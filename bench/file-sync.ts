/**
 * File-repository sync benchmark (issue 3). Prints figures; asserts nothing.
 *
 *   npm run bench:file -- [--store URI] [--entries 200000] [--small-entries 20000]
 *                         [--files 20000] [--file-size 16384] [--concurrency 10] [--json] [--keep]
 *
 * Generated repositories are served by a separate server process on 127.0.0.1; every sync runs in
 * a fresh child process (see file-sync-worker.ts), so each peak RSS is that sync's own.
 *   (a) on_demand sync of ENTRIES entries: seconds, units/s, peak RSS
 *   (b) immediate sync of FILES files of FILE_SIZE bytes: seconds, MB/s, and the floor (the same
 *       downloads with plain undici + sha256 at the same concurrency) and the ratio sync/floor; also
 *       a floor with storage (the same, plus writing each file and renaming it into place)
 *   (c) re-sync with nothing changed: early finish, and forced full comparison (--force)
 *   (d) peak RSS of the on_demand sync at SMALL_ENTRIES vs ENTRIES entries
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { WorkerResult, WorkerTask } from './file-sync-worker.js';
import { cpuText, flushDisks, goalsLine, runBenchmark } from './bench-process.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string' },
    entries: { type: 'string', default: '200000' },
    'small-entries': { type: 'string', default: '20000' },
    files: { type: 'string', default: '20000' },
    'file-size': { type: 'string', default: '16384' },
    concurrency: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const entries = Number(values.entries);
const smallEntries = Number(values['small-entries']);
const fileCount = Number(values.files);
const fileSize = Number(values['file-size']);
const concurrency = Number(values.concurrency);
const runId = `${Date.now().toString(36)}${process.pid}`;
const workDir = mkdtempSync(path.join(os.tmpdir(), 'tributary-bench-file-'));

async function startServer(): Promise<{ url: string; child: ChildProcess }> {
  // on_demand repositories never download their files, so 1 KiB bodies keep generation quick
  const child = fork(path.join(__dirname, 'file-repo-server.js'), [`big:${entries}:1024`, `small:${smallEntries}:1024`, `files:${fileCount}:${fileSize}`], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [message] = (await once(child, 'message')) as [{ url: string }];
  return { url: message.url, child };
}

function runWorker(task: WorkerTask): Promise<WorkerResult> {
  flushDisks();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, 'file-sync-worker.js'), JSON.stringify(task)], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`worker failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop() as string) as WorkerResult);
    });
  });
}

/** A sync task in its own home (storage + SQLite catalog) and, with MongoDB, its own database. */
function syncTask(scenario: string, url: string, policy: 'immediate' | 'on_demand', force = false): WorkerTask {
  return {
    kind: 'sync',
    home: path.join(workDir, scenario),
    ...(values.store ? { store: values.store } : {}),
    ...(values.store?.startsWith('mongodb') ? { database: `tributary_bench_${runId}_${scenario}` } : {}),
    repository: `bench-${scenario}`,
    url,
    policy,
    force,
    concurrency,
  };
}

const mb = (bytes: number) => bytes / (1024 * 1024);
const fixed = (value: number, digits = 2) => value.toFixed(digits);

async function main(): Promise<void> {
  const { url, child } = await startServer();
  const manifest = (repo: string) => new URL(`${repo}/PULP_MANIFEST`, url).href;
  const lines: string[] = [];
  const print = (line: string) => {
    lines.push(line);
    if (!values.json) process.stdout.write(`${line}\n`);
  };
  print(`file-sync benchmark — store: ${values.store ?? 'embedded SQLite'}, concurrency ${concurrency}, node ${process.version}, ${os.cpus().length} CPUs`);
  try {
    // (a) + (c) on the large on_demand repository
    const a = await runWorker(syncTask('big', manifest('big'), 'on_demand'));
    print(`(a) on_demand sync of ${a.added} entries: ${fixed(a.seconds)} s (${cpuText(a)}), ${fixed(a.added! / a.seconds, 0)} units/s, peak RSS ${fixed(mb(a.peakRssBytes), 0)} MiB`);
    const aEarly = await runWorker(syncTask('big', manifest('big'), 'on_demand'));
    const aForced = await runWorker(syncTask('big', manifest('big'), 'on_demand', true));
    print(`(c) on_demand re-sync, nothing changed: early finish ${fixed(aEarly.seconds, 3)} s${aEarly.finishedEarly ? '' : ' (DID NOT finish early)'}; forced ${fixed(aForced.seconds)} s (${cpuText(aForced)}) = ${fixed((100 * aForced.seconds) / a.seconds, 0)}% of the first`);

    // (d) the same sync at a tenth of the size, for the peak-RSS ratio
    const d = await runWorker(syncTask('small', manifest('small'), 'on_demand'));
    print(`(d) peak RSS: ${fixed(mb(d.peakRssBytes), 0)} MiB at ${d.added} entries vs ${fixed(mb(a.peakRssBytes), 0)} MiB at ${a.added} entries: ratio ${fixed(a.peakRssBytes / d.peakRssBytes)}`);

    // (b) + (c) immediate downloads, with the floor measured in the same run
    // the floor runs before and after the sync and the faster counts, so the ratio is not flattered
    const floorBefore = await runWorker({ kind: 'floor', url: manifest('files'), concurrency });
    const b = await runWorker(syncTask('files', manifest('files'), 'immediate'));
    const floorAfter = await runWorker({ kind: 'floor', url: manifest('files'), concurrency });
    const floor = floorBefore.seconds <= floorAfter.seconds ? floorBefore : floorAfter;
    const diskFloor = await runWorker({ kind: 'floor', url: manifest('files'), concurrency, storeUnder: path.join(workDir, 'disk-floor') });
    const bRate = mb(b.bytes) / b.seconds;
    const floorRate = mb(floor.bytes) / floor.seconds;
    print(`(b) immediate sync of ${b.added} files of ${fileSize} B: ${fixed(b.seconds)} s, ${fixed(bRate, 1)} MB/s; floor (undici + sha256) ${fixed(floor.seconds)} s, ${fixed(floorRate, 1)} MB/s; ratio ${fixed(bRate / floorRate)}`);
    print(`    floor with storage (the same + write each file beside its content address, rename it there; fs/promises): ${fixed(diskFloor.seconds)} s, ${fixed(mb(diskFloor.bytes) / diskFloor.seconds, 1)} MB/s; sync / that floor ${fixed(bRate / (mb(diskFloor.bytes) / diskFloor.seconds))}`);
    const bEarly = await runWorker(syncTask('files', manifest('files'), 'immediate'));
    const bForced = await runWorker(syncTask('files', manifest('files'), 'immediate', true));
    print(`(c) immediate re-sync, nothing changed: early finish ${fixed(bEarly.seconds, 3)} s${bEarly.finishedEarly ? '' : ' (DID NOT finish early)'}; forced ${fixed(bForced.seconds)} s = ${fixed((100 * bForced.seconds) / b.seconds, 0)}% of the first`);

    const goals = [
      ['(a) on_demand 200k ≤ 10 s', a.seconds <= 10],
      ['(b) immediate ≥ 0.7 of floor', bRate / floorRate >= 0.7],
      ['(c) early finish ≤ 1 s', aEarly.seconds <= 1 && bEarly.seconds <= 1 && !!aEarly.finishedEarly && !!bEarly.finishedEarly],
      ['(c) forced ≤ 25% of first', aForced.seconds <= 0.25 * a.seconds && bForced.seconds <= 0.25 * b.seconds],
      ['(d) RSS ratio ≤ 1.5', a.peakRssBytes / d.peakRssBytes <= 1.5],
    ] as const;
    print(goalsLine(goals));
    print(`stage timings of (a), ms: ${JSON.stringify(a.timings)}`);
    print(`stage timings of (b), ms: ${JSON.stringify(b.timings)}`);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ a, aEarly, aForced, b, floor, diskFloor, bEarly, bForced, d, goals: Object.fromEntries(goals) }, null, 2)}\n`);
    }
  } finally {
    child.kill();
    if (!values.keep) rmSync(workDir, { recursive: true, force: true });
    else process.stderr.write(`kept ${workDir}\n`);
  }
}

runBenchmark(main);
