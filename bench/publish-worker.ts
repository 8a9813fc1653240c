/**
 * One measured step of the publish benchmark, in a fresh child process so each peak RSS is its
 * own. Argument: a JSON {@link PublishWorkerTask}; prints one JSON {@link PublishWorkerResult} line.
 *   - publish: the latest version of REPOSITORY published with generated repodata (from the
 *     catalog: no RPM is fetched), timed; then the generated files' sizes.
 *   - floor: the same generated XML (decompressed first, untimed) gzipped again at the same level,
 *     one file after the other on one thread, nothing else.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { constants, createGunzip, createGzip } from 'node:zlib';
import { rpmImporter } from '@tributary/importer-rpm-example';
import { benchHost, startCpuClock, type CpuFigures } from './bench-process.js';

export type PublishWorkerTask =
  | { readonly kind: 'publish'; readonly home: string; readonly store?: string; readonly database?: string; readonly repository: string }
  | { readonly kind: 'floor'; readonly files: readonly string[] };

export interface GeneratedFileFigures {
  readonly path: string;
  /** Where its bytes are stored (for the floor). */
  readonly storedPath: string;
  readonly size: number;
}

export interface PublishWorkerResult extends CpuFigures {
  readonly seconds: number;
  readonly peakRssBytes: number;
  /** publish: the generated files (repodata/*.gz and repomd.xml). */
  readonly files?: readonly GeneratedFileFigures[];
  /** Bytes of XML written (decompressed) and of gzip. */
  readonly xmlBytes?: number;
  readonly gzipBytes?: number;
  readonly packages?: number;
}

async function runPublish(task: Extract<PublishWorkerTask, { kind: 'publish' }>): Promise<PublishWorkerResult> {
  const host = await benchHost(task, rpmImporter);
  try {
    const started = process.hrtime.bigint();
    const cpu = startCpuClock();
    const publication = await host.publish(task.repository, { options: { repodata: 'generate' } });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const figures = cpu();
    const peakRssBytes = process.resourceUsage().maxRSS * 1024;
    const entries = await host.store.listPublicationEntries(publication.id, { prefix: 'repodata/', limit: 100 });
    const files = entries.filter((e) => e.kind === 'generated' && e.sha256 !== null).map((e) => ({ path: e.path, storedPath: host.storage.pathFor(e.sha256!), size: e.size ?? 0 }));
    return { seconds, ...figures, peakRssBytes, files, gzipBytes: files.reduce((n, f) => n + f.size, 0), packages: Number(publication.summary?.info['packages'] ?? 0) };
  } finally {
    await host.close();
  }
}

async function runFloor(task: Extract<PublishWorkerTask, { kind: 'floor' }>): Promise<PublishWorkerResult> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'tributary-bench-publish-floor-'));
  try {
    const xmlFiles: string[] = [];
    for (const [i, file] of task.files.entries()) {
      const xml = path.join(scratch, `${i}.xml`);
      await pipeline(createReadStream(file), createGunzip(), createWriteStream(xml));
      xmlFiles.push(xml);
    }
    let xmlBytes = 0;
    for (const xml of xmlFiles) xmlBytes += (await stat(xml)).size;
    const started = process.hrtime.bigint();
    const cpu = startCpuClock();
    let gzipBytes = 0;
    for (const xml of xmlFiles) {
      const gzip = createGzip({ level: constants.Z_DEFAULT_COMPRESSION, chunkSize: 256 * 1024 });
      gzip.on('data', (chunk: Buffer) => (gzipBytes += chunk.length));
      const done = once(gzip, 'end');
      await pipeline(createReadStream(xml, { highWaterMark: 256 * 1024 }), gzip);
      await done.catch(() => undefined);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { seconds, ...cpu(), peakRssBytes: process.resourceUsage().maxRSS * 1024, xmlBytes, gzipBytes };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as PublishWorkerTask;
  const result = task.kind === 'floor' ? await runFloor(task) : await runPublish(task);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
