import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Host } from '../host/host.js';
import type { RemoteOptions } from '../download/index.js';
import { smallUntilProvenLarge } from '../host/heap-headroom.js';
import { BUNDLED_IMPORTERS } from './bundled-importers.js';
import { guardIo, reportError, type CliIo } from './cli-io.js';
import { checkOptions, COMMAND_GROUPS, commandHelp, commandName, commandSpec, FILTER_HELP, parseCommandLine, usage, USAGE, type CliValues } from './cli-options.js';
import type { CommandArgs } from './commands.js';
import { DEFAULT_PROGRESS_SECONDS } from './sync-progress.js';

// The host, the stores, the downloader (undici) and the commands are required when a command runs,
// not when this module loads: `--version`, `--help` and usage errors then cost little more than
// Node's own start (issue 25). `require`, not a dynamic import, so the tests' CommonJS transform keeps it.
const lazyCommands = () => require('./commands.js') as typeof import('./commands.js');
const lazyCreateHost = () => require('../host/create-host.js') as typeof import('../host/create-host.js');
const lazyOpenStore = () => require('../store/open-store.js') as typeof import('../store/open-store.js');
const lazyPluginLoader = () => require('./plugin-loader.js') as typeof import('./plugin-loader.js');

/**
 * Commands that make a few catalog calls and move no content in bulk: their SQLite catalog runs on
 * the main thread, which has nothing else to do, instead of a thread of its own whose start would
 * be most of the command's time. Any other command (a sync, serving, publishing) keeps the thread.
 */
const IN_PROCESS_CATALOG: ReadonlySet<string> = new Set([
  'repo create',
  'repo list',
  'repo show',
  'repo update',
  'repo delete',
  'history',
  'plugins list',
  'versions',
  'versions show',
  'distribution create',
  'distribution list',
  'distribution show',
  'distribution update',
  'distribution delete',
]);

/** `tributary --version`: this package's version, read from its package.json (src/cli and dist/cli alike sit two levels below it). */
function hostVersion(): string {
  return (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * True for `tributary [global options] --version`: `--version` last and no command before it (a
 * command's `--version N` names a repository version).
 */
function asksForVersion(argv: readonly string[]): boolean {
  if (argv[argv.length - 1] !== '--version') return false;
  if (argv.length === 1) return true;
  try {
    return parseCommandLine(argv.slice(0, -1)).positionals.length === 0;
  } catch {
    return false;
  }
}

/**
 * Runs the `tributary` command line and returns its exit code (0 success, 1 failure, 2 usage).
 * Everything goes through `io`, so tests run it in-process. A reader that goes away (`| head`)
 * ends the command quietly: output stops, nothing is printed about it, and the exit code is the
 * command's (0 when it did its work).
 */
export async function runCli(argv: readonly string[], rawIo: CliIo = processIo()): Promise<number> {
  const io = guardIo(rawIo);
  let json = argv.includes('--json');
  let host: Host | undefined;
  try {
    if (asksForVersion(argv)) {
      io.stdout.write(`tributary ${hostVersion()}\n`);
      return 0;
    }
    const { values, positionals, given } = parseCommandLine(argv);
    json = values.json;
    if (positionals[0] === 'help') {
      const topic = positionals.slice(1).join(' ');
      io.stdout.write(topic ? helpFor(topic) : USAGE);
      return 0;
    }
    const name = commandName(positionals);
    if (name === undefined) {
      io.stdout.write(USAGE);
      return values.help ? 0 : 2;
    }
    if (values.help) {
      io.stdout.write(helpFor(name));
      return 0;
    }
    const command = lazyCommands().COMMANDS[name];
    if (!command) {
      const actions = COMMAND_GROUPS[name];
      if (actions) {
        const action = positionals[1];
        throw usage(action === undefined ? `missing ${name} action (${actions.join(', ')})` : `unknown ${name} action '${action}' (${actions.join(', ')})`);
      }
      throw usage(`unknown command '${name}'`);
    }
    checkOptions(name, given);
    const home = path.resolve(io.cwd, values.home ?? io.env.TRIBUTARY_HOME ?? '.tributary');
    const { loadPluginModule } = lazyPluginLoader();
    const loadPlugins = () => [...Object.keys(BUNDLED_IMPORTERS).map((n) => loadPluginModule(BUNDLED_IMPORTERS[n]!, io.cwd)), ...(values.plugin ?? []).map((p) => loadPluginModule(p, io.cwd))];
    const remote = remoteOptions(values, io);
    const lease = leaseTtl(io);
    // the bundled importers load when a command first needs an importer (`repo list` never does);
    // plugins named with --plugin load and are checked up front, so a bad one fails any command
    const plugins = values.plugin?.length ? { plugins: loadPlugins() } : { loadPlugins };
    const { openStore, parseStoreUri } = lazyOpenStore();
    const spec = values.store ? parseStoreUri(values.store.startsWith('mongodb') ? values.store : path.resolve(io.cwd, values.store)) : { sqlite: path.join(home, 'catalog.db') };
    // opened before the host's modules load: the catalog's thread starts meanwhile, on the other core
    // `serve --workers N` itself only starts the serving processes: a light command too
    const light = IN_PROCESS_CATALOG.has(name) || (name === 'serve' && (values.workers ?? '1') !== '1' && (require('node:cluster') as typeof import('node:cluster').default).isPrimary);
    const openingStore = openStore('sqlite' in spec && light ? { ...spec, inProcess: true } : name === 'sync' ? smallUntilProvenLarge(spec) : spec);
    const schemaCacheDir = (require('../host/schema-cache.js') as typeof import('../host/schema-cache.js')).schemaCacheDir(io.env);
    const creating = lazyCreateHost().createHost({ storageRoot: path.join(home, 'storage'), openingStore, ...plugins, ...lease, ...(schemaCacheDir ? { schemaCacheDir } : {}) });
    if (name === 'sync') preloadForSync(loadPlugins, values.url);
    host = await creating;
    const args: CommandArgs = { host, io, json, positionals: positionals.slice(name.split(' ').length), values, remote, argv };
    return (await command(args)) ?? 0;
  } catch (error) {
    return reportError(io, error, json);
  } finally {
    await host?.close().catch(() => undefined);
  }
}

/**
 * Loads the modules a sync will need (its importers, the pipeline, undici's Agent for a remote
 * feed) while the host waits for the catalog's thread to start, instead of after: the two then
 * overlap on two cores. Only loads: whatever fails here fails again, and is reported, where the
 * sync needs it.
 */
function preloadForSync(loadPlugins: () => unknown, url: string | undefined): void {
  try {
    loadPlugins();
    require('../sync/sync-service.js');
    if (url === undefined || !url.startsWith('file:')) (require('../download/remote-options.js') as typeof import('../download/remote-options.js')).preloadHttpClient();
  } catch {
    // reported where it is needed
  }
}

/** `tributary help sync`, `tributary sync --help`: the command's help, or the global usage for an unknown one. */
function helpFor(name: string): string {
  if (name === 'filter') return FILTER_HELP;
  return commandSpec(name) || COMMAND_GROUPS[name] ? commandHelp(name) : USAGE;
}

function remoteOptions(values: CliValues, io: CliIo): RemoteOptions {
  const readPem = (file: string | undefined) => (file ? readFileSync(path.resolve(io.cwd, file)) : undefined);
  const headers: Record<string, string> = {};
  for (const header of values.header ?? []) {
    const colon = header.indexOf(':');
    if (colon <= 0) throw usage(`--header must look like 'Name: value', got ${JSON.stringify(header.split(':')[0])}`);
    headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
  }
  let password: string | undefined;
  if (values['password-env']) {
    password = io.env[values['password-env']];
    if (password === undefined) throw usage(`--password-env names ${values['password-env']}, which is not set`);
  }
  const concurrency = values.concurrency !== undefined ? Number(values.concurrency) : undefined;
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) throw usage('--concurrency must be a positive integer');
  // a transfer silent this long (no headers, or no body bytes) fails and is retried; default 60
  const idleSeconds = values['idle-timeout'] !== undefined ? Number(values['idle-timeout']) : undefined;
  if (idleSeconds !== undefined && !(Number.isFinite(idleSeconds) && idleSeconds > 0)) throw usage('--idle-timeout must be a positive number of seconds');
  return {
    ...(Object.keys(headers).length ? { headers } : {}),
    ...(values.username ? { username: values.username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(values.ca ? { ca: readPem(values.ca)! } : {}),
    ...(values['client-cert'] ? { clientCert: readPem(values['client-cert'])! } : {}),
    ...(values['client-key'] ? { clientKey: readPem(values['client-key'])! } : {}),
    ...(values['no-tls-verify'] ? { tlsValidation: false } : {}),
    ...(values.proxy ? { proxyUrl: values.proxy } : {}),
    ...(concurrency ? { concurrency } : {}),
    ...(idleSeconds !== undefined ? { idleTimeoutMs: Math.max(1, Math.round(idleSeconds * 1000)) } : {}),
  };
}

/** `TRIBUTARY_LEASE_TTL_MS` shortens the sync lease (tests that kill a host wait for it to expire). */
function leaseTtl(io: CliIo): { leaseTtlMs?: number } {
  const raw = io.env.TRIBUTARY_LEASE_TTL_MS;
  if (raw === undefined || raw === '') return {};
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 100) throw usage(`TRIBUTARY_LEASE_TTL_MS must be an integer of at least 100, got ${JSON.stringify(raw)}`);
  return { leaseTtlMs: ms };
}

function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), progressSeconds: DEFAULT_PROGRESS_SECONDS };
}
