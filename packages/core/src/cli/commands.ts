import { ErrorCodes, isTributaryError, type DownloadPolicy, type SkippedUnits, type SyncReport } from '@tributary/plugin-api';
import { redactUrl } from '../download/redact-url.js';
import type { Host } from '../host/host.js';
import type { RepositoryRecord, RepoUnitView, SyncRecord } from '../store/content-store.js';
import type { OnArtifactError } from '../sync/sync-service.js';
import { ChunkedWriter, formatBytes, formatCount, plural, printJson, printTable, shorten, unitCounts } from './cli-io.js';
import { usage } from './cli-options.js';
import type { CliValues } from './cli-options.js';
import { readAhead } from './read-ahead.js';
import { SyncProgressDisplay } from './sync-progress.js';
import { need, type Command } from './command.js';

export type { CommandArgs } from './command.js';
import { publishOptions, SERVE_COMMANDS } from './serve-commands.js';
import { retainOption, VERSION_COMMANDS } from './version-commands.js';

function parseConfig(command: string, text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw usage(`--config is not valid JSON: ${(error as Error).message}`, command);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw usage('--config must be a JSON object', command);
  return parsed as Record<string, unknown>;
}

/** `--version N` as a number: a non-negative integer (whether the repository has it is the host's to say). */
function versionOption(command: string, values: CliValues): number | undefined {
  if (values.version === undefined) return undefined;
  const version = Number(values.version);
  if (values.version.trim() === '' || !Number.isInteger(version) || version < 0) throw usage(`--version must be a version number (0, 1, …), got '${values.version}'`, command);
  return version;
}

function repositoryJson(r: RepositoryRecord): Record<string, unknown> {
  return { name: r.name, id: r.id, importer: r.importer, feedUrl: r.feedUrl && redactUrl(r.feedUrl), policy: r.policy, config: r.config, description: r.description, retainVersions: r.retainVersions, latestVersion: r.latestVersion, createdAt: r.createdAt, updatedAt: r.updatedAt };
}

const repoCreate: Command = async ({ host, io, json, positionals, values }) => {
  const [name] = need('repo create', positionals, 1, 'repository name');
  const config = parseConfig('repo create', values.config);
  const retainVersions = retainOption('repo create', values) ?? null;
  const created = await host.createRepository({ name: name!, importer: values.importer ?? null, feedUrl: values.url ?? null, config: config ?? null, description: values.description ?? null, retainVersions });
  if (json) printJson(io, repositoryJson(created));
  else io.stdout.write(`created repository '${created.name}'\n`);
};

const repoList: Command = async ({ host, io, json, positionals }) => {
  need('repo list', positionals, 0, '');
  const repositories = await host.listRepositories();
  if (json) io.stdout.write(repositories.map((r) => `${JSON.stringify(repositoryJson(r))}\n`).join(''));
  else printTable(io, ['NAME', 'VERSION', 'IMPORTER', 'FEED'], repositories.map((r) => [r.name, r.latestVersion, r.importer, r.feedUrl && redactUrl(r.feedUrl)]));
};

const repoShow: Command = async ({ host, io, json, positionals }) => {
  const [name] = need('repo show', positionals, 1, 'repository name');
  const r = await host.getRepository(name!);
  const counts = await host.countUnits(name!);
  const [last] = await host.history(name!, 1);
  if (json) printJson(io, { ...repositoryJson(r), units: counts, lastSync: last ?? null });
  else {
    const lines = [
      `name:       ${r.name}`,
      `version:    ${r.latestVersion}`,
      `importer:   ${r.importer ?? '-'}`,
      `feed:       ${r.feedUrl ? redactUrl(r.feedUrl) : '-'}`,
      `policy:     ${r.policy ?? '-'}`,
      `retains:    ${r.retainVersions === null ? 'every version' : `the newest ${plural(r.retainVersions, 'version')}`}`,
      `units:      ${unitCounts(counts)}`,
      ...(last ? [`last sync:  ${last.status} at ${last.finishedAt ?? last.startedAt}${last.error ? `: ${errorNote(last, 120)}` : ''}`] : []),
    ];
    io.stdout.write(lines.map((l) => `${l}\n`).join(''));
  }
};

const repoDelete: Command = async ({ host, io, json, positionals }) => {
  const [name] = need('repo delete', positionals, 1, 'repository name');
  await host.deleteRepository(name!);
  if (json) printJson(io, { deleted: name });
  else io.stdout.write(`deleted repository '${name}'\n`);
};

const sync: Command = async ({ host, io, json, positionals, values, remote }) => {
  const [name] = need('sync', positionals, 1, 'repository name');
  const policy = values.policy as DownloadPolicy | undefined;
  if (policy !== undefined && policy !== 'immediate' && policy !== 'on_demand') throw usage(`--policy must be immediate or on_demand, got '${policy}'`, 'sync');
  const config = parseConfig('sync', values.config);
  const onError = onErrorOption(values['on-error']);
  const created = values.create ? await createIfMissing(host, name!) : false;
  const progress = SyncProgressDisplay.fromIo(io, name!, json);
  // skips are told as they happen, not in the progress the sync reports four times a second
  const stopCounting = host.events.on('sync.unit-skipped', (event) => {
    if (event.repository === name) progress.noteSkipped();
  });
  try {
    const outcome = await host.sync(name!, {
      ...(values.importer ? { importer: values.importer } : {}),
      ...(values.url ? { url: values.url } : {}),
      ...(policy ? { policy } : {}),
      mirror: values.mirror,
      force: values.force,
      ...(config !== undefined ? { config } : {}),
      remote,
      ...(io.signal ? { signal: io.signal } : {}),
      ...(onError !== undefined ? { onError } : {}),
      onProgress: (p) => progress.update(p),
    });
    progress.stop();
    const r = outcome.report;
    if (json) printJson(io, outcome);
    else {
      const how = `${policy ?? 'immediate'}${values.mirror ? ', mirror' : ''}${values.force ? ', forced' : ''}`;
      if (outcome.finishedEarly) io.stdout.write(`'${name}' is up to date (${outcome.finishedEarly}); version ${outcome.version}\n`);
      else {
        io.stdout.write(
          `synced '${name}' (${how}) to version ${outcome.version}${outcome.newVersion ? '' : ' (no content change)'}: ` +
            `added ${unitCounts(r.added)}; updated ${unitCounts(r.updated)}; removed ${unitCounts(r.removed)}; ` +
            `downloaded ${downloads(r)} in ${((r.timings.total ?? 0) / 1000).toFixed(1)}s\n`,
        );
      }
      if (r.skipped) io.stdout.write(skippedLines(r.skipped));
    }
  } catch (error) {
    progress.stop();
    // a failed --create leaves no empty repository behind (its history goes with it: the error was just printed)
    if (created) await host.deleteRepository(name!).catch(() => undefined);
    throw error;
  } finally {
    stopCounting();
  }
};

/** `--on-error fail|skip|skip:LIMIT` as SyncOptions.onError. */
function onErrorOption(text: string | undefined): OnArtifactError | undefined {
  if (text === undefined) return undefined;
  if (text === 'fail' || text === 'skip') return text;
  const limit = /^skip:(\d{1,9})$/.exec(text)?.[1];
  if (limit === undefined) throw usage(`--on-error must be fail, skip or skip:LIMIT (LIMIT a whole number), got '${text}'`, 'sync');
  return { skip: Number(limit) };
}

/** Skipped units listed after a sync's summary, at most this many (the report keeps up to 1,000). */
const SKIPPED_SHOWN = 20;

/** `left out 3 units whose files failed (up to 5 may be):` and a line for each, the first 20. */
function skippedLines(skipped: SkippedUnits): string {
  const lines = [`left out ${plural(skipped.count, 'unit')} whose files failed (up to ${formatCount(skipped.limit)} may be):`];
  for (const unit of skipped.units.slice(0, SKIPPED_SHOWN)) {
    lines.push(`  ${unit.typeId} ${unit.relativePath}: ${unit.code}: ${shorten(unit.message, 240)}`);
  }
  if (skipped.count > SKIPPED_SHOWN) lines.push(`  … and ${formatCount(skipped.count - SKIPPED_SHOWN)} more ('history --json' lists them)`);
  return lines.map((line) => `${line}\n`).join('');
}

/** Creates the repository unless it exists; true when this call created it. */
async function createIfMissing(host: Host, name: string): Promise<boolean> {
  if ((await host.listRepositories()).some((r) => r.name === name)) return false;
  try {
    await host.createRepository({ name });
    return true;
  } catch (error) {
    // created by someone else meanwhile: theirs to keep
    if (isTributaryError(error, ErrorCodes.REPO_EXISTS)) return false;
    throw error;
  }
}

/** `5 files (300.0 KiB) and 1 metadata file (412 B)`. */
function downloads(r: SyncReport): string {
  const files = `${plural(r.downloaded.count, 'file')} (${formatBytes(r.downloaded.bytes)})`;
  return r.metadata && r.metadata.count > 0 ? `${files} and ${plural(r.metadata.count, 'metadata file')} (${formatBytes(r.metadata.bytes)})` : files;
}

/** Units as `units --json` prints them. */
function unitJson(unit: RepoUnitView): string {
  return JSON.stringify({
    type: unit.typeId,
    key: unit.key,
    metadata: unit.metadata,
    origin: unit.origin,
    artifacts: unit.artifacts.map((a) => ({ relativePath: a.relativePath, sha256: a.sha256, size: a.size, stored: a.stored })),
  });
}

function unitText(unit: RepoUnitView): string {
  let files = '';
  for (const a of unit.artifacts) files += `${files ? ', ' : '  '}${a.relativePath}${a.stored ? '' : ' (not stored)'}`;
  return `${unit.typeId}  ${JSON.stringify(unit.key)}${files}`;
}

/**
 * Streams the units to stdout in large chunks, waiting while the reader is slower (back-pressure),
 * and stops as soon as the reader goes away (`| head`).
 */
const units: Command = async ({ host, io, json, positionals, values }) => {
  const [name] = need('units', positionals, 1, 'repository name');
  const version = versionOption('units', values);
  const options = { ...(values.type ? { typeId: values.type } : {}), ...(version !== undefined ? { version } : {}), pageSize: UNIT_PAGE_SIZE };
  const out = new ChunkedWriter(io.stdout);
  let count = 0;
  listing: for await (const batch of readAhead(host.units(name!, options), 2 * UNIT_PAGE_SIZE)) {
    for (const unit of batch) {
      if (out.closed) break listing;
      count++;
      const pending = out.push(`${json ? unitJson(unit) : unitText(unit)}\n`);
      if (pending) await pending;
    }
  }
  await out.flush();
  if (!json) io.stdout.write(`${plural(count, 'unit')}\n`);
};

/** Units per catalog read when listing: fewer round trips than a sync's pages of 500. */
const UNIT_PAGE_SIZE = 2000;

const history: Command = async ({ host, io, json, positionals, values }) => {
  const [name] = need('history', positionals, 1, 'repository name');
  const limit = values.limit !== undefined ? Number(values.limit) : 50;
  if (!Number.isInteger(limit) || limit < 1) throw usage(`--limit must be a positive integer, got '${values.limit}'`, 'history');
  const records = await host.history(name!, limit);
  if (json) io.stdout.write(records.map((record) => `${JSON.stringify(record)}\n`).join(''));
  else
    printTable(
      io,
      ['STARTED', 'STATUS', 'VERSION', 'ADDED', 'REMOVED', 'NOTE'],
      records.map((h) => [
        h.startedAt,
        h.status,
        h.resultVersion ?? h.version,
        h.report ? Object.values(h.report.added).reduce((a, b) => a + b, 0) : '-',
        h.report ? Object.values(h.report.removed).reduce((a, b) => a + b, 0) : '-',
        h.error ? errorNote(h, 100) : h.report?.skipped ? `${plural(h.report.skipped.count, 'unit')} left out (files failed)` : (h.report?.finishedEarly ?? ''),
      ]),
    );
};

/**
 * A failed sync's error in a line: its message without the words every sync failure starts with
 * ("sync of repository 'x' with importer 'y' failed in stage Z: "), shortened.
 */
function errorNote(record: SyncRecord, max: number): string {
  const error = record.error as { code?: string; message?: string } | null;
  const message = String(error?.message ?? error?.code ?? 'failed').replace(/^sync of repository '[^']*' with importer '[^']*' (?:failed|was cancelled) in stage [^:]*: /, '');
  return shorten(message, max);
}

const exportCommand: Command = async ({ host, io, json, positionals, values, remote }) => {
  const [name, directory] = need('export', positionals, 2, 'repository name and target directory');
  const version = versionOption('export', values);
  const options = publishOptions('export', values);
  const result = await host.exportRepository(name!, directory!, {
    ...(version !== undefined ? { version } : {}),
    ...(options ? { options } : {}),
    clean: values.clean,
    fetchMissing: !values['no-fetch'],
    remote,
    ...(io.signal ? { signal: io.signal } : {}),
  });
  if (json) printJson(io, result);
  else
    io.stdout.write(
      `exported ${plural(result.files, 'file')} (${formatBytes(result.bytes)}) to ${directory}${result.fetched ? `, ${result.fetched} fetched on demand` : ''}${
        result.conflicts ? `; ${plural(result.conflicts, 'path')} claimed twice (first kept)` : ''
      }${result.skipped ? `; ${plural(result.skipped, 'file')} left out (not stored)` : ''}\n`,
    );
};

const orphansCleanup: Command = async ({ host, io, json, positionals, values }) => {
  need('orphans cleanup', positionals, 0, '');
  const text = values['protect-minutes'];
  const protectMinutes = text === undefined ? undefined : Number(text);
  if (text !== undefined && (text.trim() === '' || !Number.isFinite(protectMinutes) || protectMinutes! < 0)) {
    throw usage(`--protect-minutes must be a number of minutes of at least 0, got '${text}'`, 'orphans cleanup');
  }
  const result = await host.cleanupOrphans(protectMinutes !== undefined ? { protectMinutes } : {});
  if (json) printJson(io, result);
  else {
    io.stdout.write(`removed ${plural(result.units, 'orphan unit')} and ${plural(result.artifacts, 'orphan artifact')}\n`);
    if (result.tempScopes > 0 || result.stagedFiles > 0) {
      io.stdout.write(`removed what ${plural(result.tempScopes, 'stopped sync')} left in scratch space and ${plural(result.stagedFiles, 'staged file')} never adopted\n`);
    }
  }
};

const pluginsList: Command = async ({ host, io, json, positionals }) => {
  need('plugins list', positionals, 0, '');
  const list = host.plugins.list().map((p) => ({ name: p.name, version: p.version, hostApi: p.hostApi, contentTypes: p.contentTypes.map((t) => t.id) }));
  if (json) io.stdout.write(list.map((p) => `${JSON.stringify(p)}\n`).join(''));
  else printTable(io, ['NAME', 'VERSION', 'HOST API', 'CONTENT TYPES'], list.map((p) => [p.name, p.version, p.hostApi, p.contentTypes.join(', ')]));
};

/** Every command by the name its help and option checks use. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  'repo create': repoCreate,
  'repo list': repoList,
  'repo show': repoShow,
  'repo delete': repoDelete,
  sync,
  units,
  history,
  export: exportCommand,
  'orphans cleanup': orphansCleanup,
  'plugins list': pluginsList,
  ...SERVE_COMMANDS,
  ...VERSION_COMMANDS,
};
