import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { createHost, limitHeapHeadroom, parseStoreUri, smallUntilProvenLarge, type Host } from '@tributary/core';
import type { AnyImporterPlugin } from '@tributary/plugin-api';

/**
 * Starts a benchmark's upstream server on 127.0.0.1 (free port) and tells the parent its url, over
 * IPC when spawned with one, else on stdout; exits when the parent goes away.
 */
export function serveForParent(server: Server): void {
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    const ready = { url: `http://127.0.0.1:${address.port}/`, pid: process.pid };
    if (process.send) process.send(ready);
    else process.stdout.write(`${JSON.stringify(ready)}\n`);
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

/**
 * Writes out what earlier scenarios left in the page cache (`sync`, where there is one) before a
 * measured one starts, so it does not pay for their write-back (file creation slows measurably
 * right after large catalogs are written).
 */
/** rpm-repo-server.js serving `root` from a child process, and the url it listens on. */
export async function startRpmRepoServer(root: string): Promise<{ url: string; child: ChildProcess }> {
  const child = fork(path.join(__dirname, 'rpm-repo-server.js'), [root], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [message] = (await once(child, 'message')) as [{ url: string }];
  return { url: message.url, child };
}

export function flushDisks(): void {
  spawnSync('sync', { stdio: 'ignore' });
}

/** Runs a benchmark's main function, printing a failure's stack and setting the exit code. */
export function runBenchmark(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}

/** One line saying which goals were met. */
export function goalsLine(goals: readonly (readonly [string, boolean])[]): string {
  return `goals: ${goals.map(([name, met]) => `${name}: ${met ? 'met' : 'MISSED'}`).join('; ')}`;
}

/**
 * A host for one measured sync: the `--store` value (with its own MongoDB database, so each
 * scenario starts empty) or a SQLite catalog under `home`, storage under `home`.
 */
export function benchHost(task: { home: string; store?: string; database?: string }, plugin: AnyImporterPlugin): Promise<Host> {
  const store = task.store
    ? { ...parseStoreUri(task.store), ...(task.database ? { database: task.database } : {}) }
    : { sqlite: path.join(task.home, 'catalog.db') };
  // as `tributary sync` does
  limitHeapHeadroom();
  return createHost({ storageRoot: path.join(task.home, 'storage'), store: smallUntilProvenLarge(store), plugins: [plugin] });
}

/**
 * CPU seconds (user + system) the calling thread has used, from /proc (Linux); undefined elsewhere.
 * Set against the process's CPU it shows how a sync's work splits between the pipeline's thread
 * and the others (catalog, parsing): wall times on a shared VM swing, per-thread CPU much less.
 */
function threadCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux)
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** CPU time of a measured step: all threads, and the main thread's share where /proc tells it. */
export interface CpuFigures {
  readonly cpuSeconds: number;
  /** Of it, the main thread's (the pipeline's, where a sync runs); absent off Linux. */
  readonly mainThreadCpuSeconds?: number;
}

/** Starts measuring CPU time; the function returned reads what was used since. */
export function startCpuClock(): () => CpuFigures {
  const process0 = process.cpuUsage();
  const main0 = threadCpuSeconds();
  return () => {
    const { user, system } = process.cpuUsage(process0);
    const main = threadCpuSeconds();
    return { cpuSeconds: (user + system) / 1e6, ...(main0 !== undefined && main !== undefined ? { mainThreadCpuSeconds: main - main0 } : {}) };
  };
}

/** `CPU 13.12 s, 4.51 s of it on the pipeline's thread`. */
export function cpuText(figures: CpuFigures): string {
  const main = figures.mainThreadCpuSeconds;
  return `CPU ${figures.cpuSeconds.toFixed(2)} s${main !== undefined ? `, ${main.toFixed(2)} s of it on the pipeline's thread` : ''}`;
}
