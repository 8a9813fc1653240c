/**
 * One measured step of the rpm-sync benchmark, run in a fresh child process so each peak RSS is
 * its own. Argument: a JSON {@link RpmWorkerTask}; prints one JSON {@link RpmWorkerResult} line.
 */
import path from 'node:path';
import { readPackageDetails, readPrimaryPackages, rpmImporter } from '@tributary/importer-rpm-example';
import { benchHost, startCpuClock, type CpuFigures } from './bench-process.js';

export type RpmWorkerTask =
  | {
      readonly kind: 'sync';
      readonly home: string;
      /** `--store` value; default: a SQLite catalog in `home`. */
      readonly store?: string;
      /** MongoDB database to use, so each run starts empty. */
      readonly database?: string;
      readonly repository: string;
      readonly url: string;
    }
  | {
      readonly kind: 'floor';
      readonly primaryPath: string;
      readonly openSize: number;
      /** filelists and other, read after primary as the sync reads them (on one thread). */
      readonly details?: { readonly filelists: { path: string; openSize: number }; readonly other: { path: string; openSize: number } };
    };

/** With CPU time (user + system) of the measured work: what a loaded machine does not inflate. */
export interface RpmWorkerResult extends CpuFigures {
  readonly seconds: number;
  readonly peakRssBytes: number;
  readonly packages: number;
  /** Advisories the sync added (with updateinfo). */
  readonly advisories?: number;
  readonly timings?: Readonly<Record<string, number>>;
  readonly roundTrips?: number;
}

async function runSync(task: Extract<RpmWorkerTask, { kind: 'sync' }>): Promise<RpmWorkerResult> {
  const host = await benchHost(task, rpmImporter);
  try {
    await host.createRepository({ name: task.repository });
    const roundTripsBefore = host.store.stats.roundTrips;
    const started = process.hrtime.bigint();
    const cpu = startCpuClock();
    const outcome = await host.sync(task.repository, { importer: 'rpm', url: task.url, policy: 'on_demand' });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return {
      seconds,
      ...cpu(),
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      packages: outcome.report.added['rpm.package'] ?? 0,
      advisories: outcome.report.added['rpm.advisory'] ?? 0,
      timings: outcome.report.timings,
      roundTrips: host.store.stats.roundTrips - roundTripsBefore,
    };
  } finally {
    await host.close();
  }
}

/**
 * The floor: the same files decompressed and parsed by the same parsers, nothing else: primary into
 * packages, then filelists and other into each package's files and changelogs (limit 10, as the sync).
 */
async function runFloor(task: Extract<RpmWorkerTask, { kind: 'floor' }>): Promise<RpmWorkerResult> {
  const started = process.hrtime.bigint();
  const cpu = startCpuClock();
  let packages = 0;
  const file = { path: task.primaryPath, href: path.basename(task.primaryPath), type: 'primary', openSize: task.openSize };
  for await (const batch of readPrimaryPackages(file, { maxBytes: 2 * 1024 ** 3 })) packages += batch.length;
  for (const kind of ['filelists', 'other'] as const) {
    const details = task.details?.[kind];
    if (!details) continue;
    const detailsFile = { path: details.path, href: path.basename(details.path), type: kind, openSize: details.openSize };
    for await (const _batch of readPackageDetails(detailsFile, kind, { maxBytes: 2 * 1024 ** 3 }, 10)) void _batch;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, ...cpu(), peakRssBytes: process.resourceUsage().maxRSS * 1024, packages };
}


async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as RpmWorkerTask;
  const result = task.kind === 'floor' ? await runFloor(task) : await runSync(task);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
