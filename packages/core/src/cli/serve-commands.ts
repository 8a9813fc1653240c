import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import type { DistributionView } from '../publish/distributions.js';
import type { AccessRecord } from '../serve/content-app.js';
import { formatBytes, plural, printJson, printTable } from './cli-io.js';
import { usage, type CliValues } from './cli-options.js';
import { need, type Command } from './command.js';

const DEFAULT_LISTEN = '127.0.0.1:24816';

/** `--option key=value`, repeatable: the value as JSON when it parses, else as a string. */
export function publishOptions(command: string, values: CliValues): Record<string, unknown> | undefined {
  if (values.option === undefined) return undefined;
  const options: Record<string, unknown> = {};
  for (const option of values.option) {
    const eq = option.indexOf('=');
    if (eq <= 0) throw usage(`--option must look like KEY=VALUE, got ${JSON.stringify(option)}`, command);
    const raw = option.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    options[option.slice(0, eq)] = value;
  }
  return options;
}

function versionValue(command: string, values: CliValues, allowLatest: boolean): number | null | undefined {
  if (values.version === undefined) return undefined;
  if (allowLatest && values.version === 'latest') return null;
  const version = Number(values.version);
  if (values.version.trim() === '' || !Number.isInteger(version) || version < 0) {
    throw usage(`--version must be a version number (0, 1, …)${allowLatest ? " or 'latest'" : ''}, got '${values.version}'`, command);
  }
  return version;
}

function distributionLine(d: DistributionView): string[] {
  return [d.name, `/content/${d.basePath}/`, d.repository ?? '(deleted)', d.version === null ? 'latest' : String(d.version)];
}

const publish: Command = async ({ host, io, json, positionals, values }) => {
  const [name] = need('publish', positionals, 1, 'repository name');
  const version = versionValue('publish', values, false);
  const options = publishOptions('publish', values);
  const publication = await host.publish(name!, { ...(version !== undefined && version !== null ? { version } : {}), ...(options ? { options } : {}), ...(io.signal ? { signal: io.signal } : {}) });
  if (json) printJson(io, publication);
  else {
    const s = publication.summary!;
    io.stdout.write(`published version ${publication.version} of '${name}' with publisher '${publication.publisher}': ${plural(s.files, 'file')} (${formatBytes(s.bytes)})${s.conflicts ? `; ${plural(s.conflicts, 'path')} claimed twice (first kept)` : ''}\n`);
  }
};

const distributionCreate: Command = async ({ host, io, json, positionals, values }) => {
  const [name] = need('distribution create', positionals, 1, 'distribution name');
  if (values.repository === undefined) throw usage('missing --repository', 'distribution create');
  if (values['base-path'] === undefined) throw usage('missing --base-path', 'distribution create');
  const version = versionValue('distribution create', values, true);
  const options = publishOptions('distribution create', values);
  const created = await host.distributions.create(name!, {
    repository: values.repository,
    basePath: values['base-path'],
    version: version ?? null,
    ...(options ? { publishOptions: options } : {}),
  });
  if (json) printJson(io, created);
  else io.stdout.write(`created distribution '${created.name}': /content/${created.basePath}/ serves '${created.repository}' (${created.version === null ? 'latest version' : `version ${created.version}`})\n`);
};

const distributionList: Command = async ({ host, io, json, positionals }) => {
  need('distribution list', positionals, 0, '');
  const list = await host.distributions.list();
  if (json) io.stdout.write(list.map((d) => `${JSON.stringify(d)}\n`).join(''));
  else printTable(io, ['NAME', 'BASE PATH', 'REPOSITORY', 'VERSION'], list.map(distributionLine));
};

const distributionShow: Command = async ({ host, io, json, positionals }) => {
  const [name] = need('distribution show', positionals, 1, 'distribution name');
  const d = await host.distributions.get(name!);
  if (json) printJson(io, d);
  else {
    io.stdout.write(
      [
        `name:       ${d.name}`,
        `base path:  /content/${d.basePath}/`,
        `repository: ${d.repository ?? '(deleted)'}`,
        `version:    ${d.version === null ? 'latest' : d.version}`,
        `options:    ${Object.keys(d.publishOptions).length ? JSON.stringify(d.publishOptions) : '-'}`,
        `created:    ${d.createdAt}`,
        `updated:    ${d.updatedAt}`,
      ].join('\n') + '\n',
    );
  }
};

const distributionUpdate: Command = async ({ host, io, json, positionals, values }) => {
  const [name] = need('distribution update', positionals, 1, 'distribution name');
  const version = versionValue('distribution update', values, true);
  const options = publishOptions('distribution update', values);
  const updated = await host.distributions.update(name!, {
    ...(values.repository !== undefined ? { repository: values.repository } : {}),
    ...(values['base-path'] !== undefined ? { basePath: values['base-path'] } : {}),
    ...(version !== undefined ? { version } : {}),
    ...(options ? { publishOptions: options } : {}),
  });
  if (json) printJson(io, updated);
  else io.stdout.write(`updated distribution '${updated.name}': /content/${updated.basePath}/ serves '${updated.repository}' (${updated.version === null ? 'latest version' : `version ${updated.version}`})\n`);
};

const distributionDelete: Command = async ({ host, io, json, positionals }) => {
  const [name] = need('distribution delete', positionals, 1, 'distribution name');
  await host.distributions.delete(name!);
  if (json) printJson(io, { deleted: name });
  else io.stdout.write(`deleted distribution '${name}'\n`);
};

/** `HOST:PORT`, `[::1]:PORT` or `:PORT`. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw usage(`--listen must look like HOST:PORT (e.g. 127.0.0.1:24816 or [::1]:8080), got ${JSON.stringify(text)}`, 'serve');
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

/** `--workers N|auto`: how many serving processes. */
export function parseWorkers(text: string | undefined): number {
  if (text === undefined) return 1;
  if (text === 'auto') return Math.max(1, os.availableParallelism());
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 256) throw usage(`--workers must be a whole number from 1 to 256 or 'auto', got ${JSON.stringify(text)}`, 'serve');
  return n;
}

const serve: Command = async (args) => {
  const { positionals, values } = args;
  need('serve', positionals, 0, '');
  const listen = parseListen(values.listen ?? DEFAULT_LISTEN);
  const workers = parseWorkers(values.workers);
  // node:cluster is a built-in: loading it costs nothing the other commands would notice
  const cluster = require('node:cluster') as typeof import('node:cluster').default;
  if (workers > 1 && cluster.isPrimary) return servePrimary(args, workers);
  const worker = cluster.isWorker;
  try {
    await serveHere(args, listen, worker);
  } finally {
    // a worker's channel to the primary would keep it alive once the command is done (or failed);
    // worker.disconnect, unlike process.disconnect, does not exit at once with code 0: the host
    // still closes (its catalog commits) and the exit code stays the command's
    if (worker) cluster.worker?.disconnect();
  }
};

/** One content app in this process: `serve` itself, or one of `serve --workers N`'s processes. */
async function serveHere({ host, io, json, remote }: Parameters<Command>[0], listen: { host: string; port: number }, worker: boolean): Promise<void> {
  // fastify is loaded by the one command that serves, not by every command's start-up
  const { createContentApp } = require('../serve/content-app.js') as typeof import('../serve/content-app.js');
  // several processes share stdout: whole lines in writes of at most PIPE_BUF bytes are never interleaved
  const accessLog = new LineBuffer((text) => io.stdout.write(text), worker ? 4096 : 64 * 1024);
  const app = createContentApp(host, {
    remote,
    fastPath: true,
    log: {
      access: (record: AccessRecord) => accessLog.add(json ? `${JSON.stringify({ type: 'access', ...record, ...(worker ? { pid: process.pid } : {}) })}\n` : `${record.time} ${record.remote} ${record.method} ${record.path} ${record.status} ${record.bytes ?? '-'} ${record.ms}ms${record.served ? ` ${record.served}` : ''}${record.incomplete ? ' incomplete' : ''}\n`),
      event: (level, fields, message) => io.stderr.write(json ? `${JSON.stringify({ type: 'event', level, message, ...fields, time: new Date().toISOString() })}\n` : `${level}: ${message} ${JSON.stringify(fields)}\n`),
    },
  });
  let address: string;
  try {
    address = await app.server.listen({ host: listen.host, port: listen.port });
  } catch (error) {
    await app.close().catch(() => undefined);
    throw listenFailed(listen, error);
  }
  if (!worker) {
    const count = (await host.distributions.list()).length;
    if (json) io.stderr.write(`${JSON.stringify({ type: 'listening', url: `${address}/content/`, distributions: count, workers: 1 })}\n`);
    else io.stderr.write(`serving ${address}/content/ (${plural(count, 'distribution')}); stop with Ctrl-C or SIGTERM\n`);
  }
  if (io.signal && !io.signal.aborted) await once(io.signal, 'abort');
  if (!worker) io.stderr.write(json ? `${JSON.stringify({ type: 'stopping' })}\n` : 'stopping: finishing the requests in flight\n');
  await app.close();
  accessLog.flush();
}

/** A listen that failed, in words that say what to change. */
function listenFailed(listen: { host: string; port: number }, error: unknown): TributaryError {
  const errno = (error as NodeJS.ErrnoException).code;
  const where = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
  const why =
    errno === 'EADDRINUSE'
      ? 'the address is in use (another server listens there): choose another port with --listen'
      : errno === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges): choose another port with --listen'
        : errno === 'EADDRNOTAVAIL' || errno === 'ENOTFOUND'
          ? 'no interface of this machine has that address: use one of its addresses, 127.0.0.1 or 0.0.0.0'
          : (error as Error).message;
  return new TributaryError(ErrorCodes.INVALID_ARGUMENT, `cannot listen on ${where}: ${why}`, { details: { listen: where, ...(errno ? { errno } : {}) }, cause: error });
}

/** Restarts of crashed workers allowed within RESTART_WINDOW_MS before serve gives up. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

/**
 * `serve --workers N`: N processes (node:cluster) each running the content app on the one
 * address; the primary only starts them, restarts one that dies, and stops them all on
 * SIGTERM/SIGINT. They share the catalog and storage as any processes on one home do.
 */
async function servePrimary({ host, io, json, argv }: Parameters<Command>[0], workers: number): Promise<void> {
  const cluster = require('node:cluster') as typeof import('node:cluster').default;
  cluster.setupPrimary({ exec: path.join(__dirname, 'main.js'), args: [...argv], silent: false });
  let stopping = false;
  let listening = 0;
  const restarts: number[] = [];
  let failed: ((error: TributaryError) => void) | undefined;
  const gaveUp = new Promise<never>((_, reject) => {
    failed = reject;
  });
  gaveUp.catch(() => undefined);
  const ready = new Promise<string>((resolve) => {
    cluster.on('listening', (_worker, address) => {
      listening++;
      if (listening === workers) resolve(`http://${address.addressType === 6 || address.address?.includes(':') ? `[${address.address}]` : address.address}:${address.port}`);
    });
  });
  const start = (): void => {
    // fewer malloc arenas: freed stream buffers are reused rather than held per thread
    const worker = cluster.fork({ MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' });
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      const now = Date.now();
      restarts.push(now);
      while (restarts.length > 0 && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
      const why = signal ? `signal ${signal}` : `exit code ${code}`;
      if (listening < workers || restarts.length > MAX_RESTARTS) {
        failed?.(
          new TributaryError(ErrorCodes.SERVE_FAILED, `a serving process stopped (${why}) ${listening < workers ? 'before listening' : `${restarts.length} times within a minute`}; its error is above`, {
            details: { reason: why },
          }),
        );
        return;
      }
      io.stderr.write(json ? `${JSON.stringify({ type: 'event', level: 'warn', message: 'a serving process stopped; starting another', pid: worker.process.pid, reason: why })}\n` : `warn: a serving process (pid ${worker.process.pid}) stopped (${why}); starting another\n`);
      start();
    });
  };
  for (let i = 0; i < workers; i++) start();
  const stopAll = async (): Promise<void> => {
    stopping = true;
    const alive = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined && !w.isDead());
    await Promise.all(
      alive.map((w) => {
        const exited = once(w!, 'exit');
        w!.process.kill('SIGTERM');
        return exited;
      }),
    );
  };
  const aborted = io.signal ? (io.signal.aborted ? Promise.resolve() : once(io.signal, 'abort').then(() => undefined)) : new Promise<void>(() => undefined);
  try {
    const url = await Promise.race([ready, gaveUp, aborted.then(() => undefined)]);
    if (url !== undefined) {
      const count = (await host.distributions.list()).length;
      if (json) io.stderr.write(`${JSON.stringify({ type: 'listening', url: `${url}/content/`, distributions: count, workers })}\n`);
      else io.stderr.write(`serving ${url}/content/ (${plural(count, 'distribution')}, ${workers} processes); stop with Ctrl-C or SIGTERM\n`);
      await Promise.race([gaveUp, aborted]);
      io.stderr.write(json ? `${JSON.stringify({ type: 'stopping' })}\n` : 'stopping: finishing the requests in flight\n');
    }
  } finally {
    await stopAll();
  }
}

/**
 * Lines gathered and written together once the current burst of work is done (or 64 KiB
 * gathered): a write to stdout per request cost the content app a twentieth of its time.
 */
class LineBuffer {
  private text = '';
  private scheduled = false;

  constructor(
    private readonly write: (text: string) => void,
    /** At most this many bytes a write (whole lines; a longer line alone). */
    private readonly maxWrite: number,
  ) {}

  add(line: string): void {
    this.text += line;
    if (this.text.length >= this.maxWrite) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.text.length === 0) return;
    let text = this.text;
    this.text = '';
    while (Buffer.byteLength(text) > this.maxWrite) {
      let cut = text.lastIndexOf('\n', this.maxWrite - 1);
      // characters are not bytes: text that is not ASCII may need a shorter piece
      if (cut >= 0 && Buffer.byteLength(text.slice(0, cut + 1)) > this.maxWrite) cut = text.lastIndexOf('\n', Math.floor(this.maxWrite / 4) - 1);
      const end = cut >= 0 ? cut + 1 : text.indexOf('\n') + 1 || text.length;
      this.write(text.slice(0, end));
      text = text.slice(end);
    }
    if (text.length > 0) this.write(text);
  }
}

export const SERVE_COMMANDS: Readonly<Record<string, Command>> = {
  publish,
  'distribution create': distributionCreate,
  'distribution list': distributionList,
  'distribution show': distributionShow,
  'distribution update': distributionUpdate,
  'distribution delete': distributionDelete,
  serve,
};
