/**
 * Publishing benchmark (issue 23): repodata generated for a large version. Prints figures; asserts
 * nothing.
 *
 *   npm run bench:publish -- [--store URI] [--packages 100000] [--advisories 0] [--json] [--keep]
 *
 * Generates the rpm-sync benchmark's repository (primary, filelists and other for PACKAGES
 * packages), serves it from a separate process, syncs it on_demand (untimed), and then runs, each
 * in a fresh child process (so each peak RSS is its own):
 *   - publish with `repodata: 'generate'`: seconds, CPU, MB/s of XML and of gzip written, peak RSS;
 *   - the floor: gzip of the same XML at the same level (zlib's default, as createrepo_c), one
 *     file after the other on one thread, nothing else; it runs before and after, the faster counts;
 *   - the ratio publish / floor.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateRpmRepo } from './rpm-primary-generator.js';
import type { RpmWorkerResult, RpmWorkerTask } from './rpm-sync-worker.js';
import type { PublishWorkerResult, PublishWorkerTask } from './publish-worker.js';
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
const workDir = mkdtempSync(path.join(os.tmpdir(), 'tributary-bench-publish-'));

function runWorker<T>(script: string, task: unknown): Promise<T> {
  flushDisks();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, script), JSON.stringify(task)], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`worker failed: ${stderr || error.message}`));
      else {
        // a worker that printed no result (it ended with nothing left to wait for) fails the run, not the process
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop() as string) as T);
        } catch {
          reject(new Error(`worker ${script} printed no result: ${stderr || '(no output)'}`));
        }
      }
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
  const generated = await generateRpmRepo(path.join(workDir, 'upstream', 'repo'), packageCount, advisoryCount);
  const { url, child } = await startRpmRepoServer(path.join(workDir, 'upstream'));
  const home = path.join(workDir, 'home');
  const storeSettings = {
    ...(values.store ? { store: values.store } : {}),
    ...(values.store?.startsWith('mongodb') ? { database: `tributary_bench_publish_${runId}` } : {}),
  };
  try {
    const sync = await runWorker<RpmWorkerResult>('rpm-sync-worker.js', {
      kind: 'sync',
      home,
      ...storeSettings,
      repository: 'bench-publish',
      url: new URL('repo/', url).href,
    } satisfies RpmWorkerTask);
    const published = await runWorker<PublishWorkerResult>('publish-worker.js', { kind: 'publish', home, ...storeSettings, repository: 'bench-publish' } satisfies PublishWorkerTask);
    const xmlFiles = (published.files ?? []).filter((f) => f.path.endsWith('.xml.gz')).map((f) => f.storedPath);
    const floorTask: PublishWorkerTask = { kind: 'floor', files: xmlFiles };
    const floorBefore = await runWorker<PublishWorkerResult>('publish-worker.js', floorTask);
    const floorAfter = await runWorker<PublishWorkerResult>('publish-worker.js', floorTask);
    const floor = floorBefore.seconds <= floorAfter.seconds ? floorBefore : floorAfter;
    const xmlBytes = floor.xmlBytes ?? 0;
    const gzipBytes = published.gzipBytes ?? 0;
    const ratio = published.seconds / floor.seconds;
    const load = os.loadavg()[0]!;
    print(
      `publish benchmark — store: ${values.store ?? 'embedded SQLite'}, node ${process.version}, ${os.cpus().length} CPUs; ` +
        `${generated.packages} packages synced on_demand in ${fixed(sync.seconds)} s (untimed here)`,
    );
    print(
      `publish (repodata generate): ${published.packages} packages in ${fixed(published.seconds)} s (${cpuText(published)}), ` +
        `${fixed(mb(xmlBytes), 0)} MiB XML (${fixed(mb(xmlBytes) / published.seconds, 1)} MB/s), ${fixed(mb(gzipBytes), 1)} MiB gzip (${fixed(mb(gzipBytes) / published.seconds, 1)} MB/s), peak RSS ${fixed(mb(published.peakRssBytes), 0)} MiB`,
    );
    print(`floor (gzip of the same XML at the same level, one thread): ${fixed(floor.seconds)} s (CPU ${fixed(floor.cpuSeconds)} s), ${fixed(mb(xmlBytes) / floor.seconds, 1)} MB/s of XML`);
    print(`ratio publish / floor: ${fixed(ratio)} wall, ${fixed(published.cpuSeconds / floor.cpuSeconds)} CPU; load average ${fixed(load)} on ${os.cpus().length} CPUs${load > os.cpus().length ? ' (a busy machine: wall times are inflated, CPU times less so)' : ''}`);
    const goals = [
      ['ratio ≤ 2.0', ratio <= 2.0],
      ['peak RSS ≤ 400 MiB', published.peakRssBytes <= 400 * 1024 * 1024],
    ] as const;
    print(goalsLine(goals));
    if (values.json) process.stdout.write(`${JSON.stringify({ generated, sync, published, floor, ratio, goals: Object.fromEntries(goals) }, null, 2)}\n`);
  } finally {
    child.kill();
    if (!values.keep) rmSync(workDir, { recursive: true, force: true });
    else process.stderr.write(`kept ${workDir}\n`);
  }
}

runBenchmark(main);
