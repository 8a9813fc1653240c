import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';

/**
 * The FerretDB binary: `TRIBUTARY_FERRETDB_BINARY`, or where `scripts/build-ferretdb.sh` puts it.
 */
export const FERRETDB_BINARY =
  process.env.TRIBUTARY_FERRETDB_BINARY || path.resolve(__dirname, '..', '.cache', 'ferretdb', 'bin', 'ferretdb');

/** A running MongoDB-wire test server. */
export interface MongoTestServer {
  /** Connection string without a database: every test picks its own database name. */
  readonly uri: string;
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>;
}

export interface StartFerretDbOptions {
  /** Default: {@link FERRETDB_BINARY}. */
  readonly binary?: string;
  /** How long to wait for the first answered `ping`. Default 30 s (the machine may be busy). */
  readonly startTimeoutMs?: number;
}

/**
 * Starts FerretDB (SQLite handler, throw-away data directory) on 127.0.0.1 and a free port, and
 * resolves once it answers a `ping`. A port taken between choosing and binding it makes FerretDB
 * exit at once; that is retried on another port.
 */
export async function startFerretDb(options: StartFerretDbOptions = {}): Promise<MongoTestServer> {
  const binary = options.binary ?? FERRETDB_BINARY;
  if (!existsSync(binary)) throw new Error(`FerretDB binary ${binary} not found; run \`bash scripts/build-ferretdb.sh\``);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tributary-ferretdb-'));
    const port = await freePort();
    const child = spawnFerretDb(binary, dataDir, port);
    const uri = `mongodb://127.0.0.1:${port}/`;
    const stop = () => stopProcess(child).finally(() => rm(dataDir, { recursive: true, force: true }));
    try {
      await waitForPing(uri, child, options.startTimeoutMs ?? 30_000);
      return { uri, stop };
    } catch (error) {
      const log = await readFile(path.join(dataDir, 'ferretdb.log'), 'utf8').catch(() => '');
      lastError = new Error(`FerretDB did not start on port ${port}: ${(error as Error).message}\n${tail(log)}`, { cause: error });
      await stop();
    }
  }
  throw lastError;
}

function spawnFerretDb(binary: string, dataDir: string, port: number): ChildProcess {
  const args = [
    '--handler=sqlite',
    // Throw-away data: no fsync per transaction. FerretDB writes every updated document in a
    // transaction of its own, which this roughly halves.
    `--sqlite-url=file:${dataDir}/?_pragma=synchronous(OFF)`,
    `--state-dir=${dataDir}`,
    `--listen-addr=127.0.0.1:${port}`,
    // The debug HTTP listener defaults to a fixed port (8088): two servers would collide.
    '--debug-addr=-',
    '--telemetry=disable',
    '--log-level=warn',
  ];
  const log = openSync(path.join(dataDir, 'ferretdb.log'), 'a');
  try {
    const child = spawn(binary, args, { stdio: ['ignore', log, log] });
    // A jest run that dies without its teardown must not leave the server behind.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
    child.unref();
    return child;
  } finally {
    closeSync(log);
  }
}

async function waitForPing(uri: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`it exited (${child.exitCode ?? child.signalCode})`);
    }
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 500, connectTimeoutMS: 500 });
    try {
      await client.db('admin').command({ ping: 1 });
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  throw new Error(`no answer to ping within ${timeoutMs} ms (${(lastError as Error | undefined)?.message ?? 'no attempt'})`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(killer);
}

function tail(log: string): string {
  return log.split('\n').slice(-20).join('\n');
}
