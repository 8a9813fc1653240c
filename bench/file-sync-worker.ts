/**
 * One measured step of the file-sync benchmark, run in a fresh child process so each peak RSS is
 * its own. Argument: a JSON {@link WorkerTask}; prints one JSON {@link WorkerResult} line.
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Agent, request } from 'undici';
import { fileImporter } from '@tributary/importer-file';
import { benchHost, startCpuClock, type CpuFigures } from './bench-process.js';

export type WorkerTask =
  | {
      readonly kind: 'sync';
      readonly home: string;
      /** `--store` value; default: a SQLite catalog in `home`. */
      readonly store?: string;
      /** MongoDB database to use, so each scenario starts empty. */
      readonly database?: string;
      readonly repository: string;
      readonly url: string;
      readonly policy: 'immediate' | 'on_demand';
      readonly force: boolean;
      readonly concurrency: number;
    }
  | {
      readonly kind: 'floor';
      readonly url: string;
      readonly concurrency: number;
      /** Also write each file and rename it to a content address under this directory. */
      readonly storeUnder?: string;
    };

export interface WorkerResult extends CpuFigures {
  readonly seconds: number;
  readonly peakRssBytes: number;
  readonly files: number;
  readonly bytes: number;
  readonly added?: number;
  readonly finishedEarly?: string;
  readonly timings?: Readonly<Record<string, number>>;
}

async function runSync(task: Extract<WorkerTask, { kind: 'sync' }>): Promise<WorkerResult> {
  const host = await benchHost(task, fileImporter);
  try {
    if (!(await host.listRepositories()).some((r) => r.name === task.repository)) await host.createRepository({ name: task.repository });
    const started = process.hrtime.bigint();
    const cpu = startCpuClock();
    const outcome = await host.sync(task.repository, {
      importer: 'file',
      url: task.url,
      policy: task.policy,
      force: task.force,
      remote: { concurrency: task.concurrency },
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const added = Object.values(outcome.report.added).reduce((a, b) => a + b, 0);
    return {
      seconds,
      ...cpu(),
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      files: outcome.report.downloaded.count,
      bytes: outcome.report.downloaded.bytes,
      added,
      ...(outcome.finishedEarly ? { finishedEarly: outcome.finishedEarly } : {}),
      timings: outcome.report.timings,
    };
  } finally {
    await host.close();
  }
}

/**
 * The floor: the manifest and every file fetched with plain undici at the same concurrency, each
 * body hashed with sha256 and checked, nothing recorded; stored (written, renamed into place)
 * only with `storeUnder`, which measures what the disk allows.
 */
async function runFloor(task: Extract<WorkerTask, { kind: 'floor' }>): Promise<WorkerResult> {
  const agent = new Agent({ connections: task.concurrency, pipelining: 1 });
  const started = process.hrtime.bigint();
  const cpu = startCpuClock();
  const manifest = await request(task.url, { dispatcher: agent });
  const text = await manifest.body.text();
  const entries = text.split('\n').filter((line) => line !== '');
  let next = 0;
  let bytes = 0;
  const worker = async () => {
    while (next < entries.length) {
      const line = entries[next++] as string;
      const sizeComma = line.lastIndexOf(',');
      const digestComma = line.lastIndexOf(',', sizeComma - 1);
      const url = new URL(line.slice(0, digestComma), task.url).href;
      const response = await request(url, { dispatcher: agent });
      const digest = createHash('sha256');
      const chunks: Buffer[] = [];
      for await (const chunk of response.body) {
        digest.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
        if (task.storeUnder) chunks.push(chunk as Buffer);
      }
      const sha256 = digest.digest('hex');
      if (sha256 !== line.slice(digestComma + 1, sizeComma)) throw new Error(`digest mismatch for ${url}`);
      if (task.storeUnder) await storeFile(task.storeUnder, sha256, chunks);
    }
  };
  await Promise.all(Array.from({ length: task.concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await agent.close();
  return { seconds, ...cpu(), peakRssBytes: process.resourceUsage().maxRSS * 1024, files: entries.length, bytes };
}

const createdDirs = new Set<string>();
let tempCounter = 0;

/**
 * What any content-addressed store must do at least: write the bytes, then rename them into place.
 * The file is created beside its address, as ArtifactStorage stages small bodies (creating it in
 * one scratch directory costs about twice as much on this project's VM: `npm run bench:placement`).
 */
async function storeFile(root: string, sha256: string, chunks: Buffer[]): Promise<void> {
  // the layout ArtifactStorage uses: one level of 256 directories
  const dir = path.join(root, 'artifacts', sha256.slice(0, 2));
  if (!createdDirs.has(dir)) {
    await mkdir(dir, { recursive: true });
    createdDirs.add(dir);
  }
  const target = path.join(dir, sha256);
  const temp = `${target}.${++tempCounter}.part`;
  await writeFile(temp, chunks);
  await rename(temp, target);
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as WorkerTask;
  const result = task.kind === 'floor' ? await runFloor(task) : await runSync(task);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
