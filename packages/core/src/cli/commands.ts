import type { DownloadPolicy } from '@tributary/plugin-api';
import { redactUrl, type RemoteOptions } from '../download/index.js';
import type { Host } from '../host/host.js';
import type { RepositoryRecord } from '../store/content-store.js';
import { formatBytes, printJson, printTable, type CliIo } from './cli-io.js';
import { ProgressLine } from './progress-line.js';
import { usage, type CliValues } from './cli-options.js';

export interface CommandArgs {
  readonly host: Host;
  readonly io: CliIo;
  readonly json: boolean;
  readonly positionals: readonly string[];
  readonly values: CliValues;
  readonly remote: RemoteOptions;
}

type Command = (args: CommandArgs) => Promise<number | void>;


function need(positionals: readonly string[], count: number, what: string): string[] {
  if (positionals.length < count) throw usage(`missing ${what}`);
  if (positionals.length > count) throw usage(`unexpected argument '${positionals[count]}'`);
  return positionals.slice(0, count) as string[];
}

function parseConfig(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw usage(`--config is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw usage('--config must be a JSON object');
  return parsed as Record<string, unknown>;
}

function repositoryJson(r: RepositoryRecord): Record<string, unknown> {
  return { name: r.name, id: r.id, importer: r.importer, feedUrl: r.feedUrl && redactUrl(r.feedUrl), config: r.config, description: r.description, latestVersion: r.latestVersion, createdAt: r.createdAt, updatedAt: r.updatedAt };
}

const repo: Command = async ({ host, io, json, positionals, values }) => {
  const [action, ...rest] = positionals;
  switch (action) {
    case 'create': {
      const [name] = need(rest, 1, 'repository name');
      const config = parseConfig(values.config);
      const created = await host.createRepository({ name: name!, importer: values.importer ?? null, feedUrl: values.url ?? null, config: config ?? null, description: values.description ?? null });
      if (json) printJson(io, repositoryJson(created));
      else io.stdout.write(`created repository '${created.name}'\n`);
      return;
    }
    case 'list': {
      need(rest, 0, '');
      const repositories = await host.listRepositories();
      if (json) for (const r of repositories) printJson(io, repositoryJson(r));
      else printTable(io, ['NAME', 'VERSION', 'IMPORTER', 'FEED'], repositories.map((r) => [r.name, r.latestVersion, r.importer, r.feedUrl && redactUrl(r.feedUrl)]));
      return;
    }
    case 'show': {
      const [name] = need(rest, 1, 'repository name');
      const r = await host.getRepository(name!);
      const counts = await host.countUnits(name!);
      const [last] = await host.history(name!, 1);
      if (json) printJson(io, { ...repositoryJson(r), units: counts, lastSync: last ?? null });
      else {
        io.stdout.write(`name:       ${r.name}\nversion:    ${r.latestVersion}\nimporter:   ${r.importer ?? '-'}\nfeed:       ${r.feedUrl ? redactUrl(r.feedUrl) : '-'}\n`);
        io.stdout.write(`units:      ${Object.entries(counts).map(([t, n]) => `${n} ${t}`).join(', ') || 'none'}\n`);
        if (last) io.stdout.write(`last sync:  ${last.status} at ${last.finishedAt ?? last.startedAt}\n`);
      }
      return;
    }
    case 'delete': {
      const [name] = need(rest, 1, 'repository name');
      await host.deleteRepository(name!);
      if (json) printJson(io, { deleted: name });
      else io.stdout.write(`deleted repository '${name}'\n`);
      return;
    }
    default:
      throw usage(action ? `unknown repo action '${action}'` : 'missing repo action (create, list, show, delete)');
  }
};

const sync: Command = async ({ host, io, json, positionals, values, remote }) => {
  const [name] = need(positionals, 1, 'repository name');
  const policy = values.policy as DownloadPolicy | undefined;
  if (policy !== undefined && policy !== 'immediate' && policy !== 'on_demand') throw usage(`--policy must be immediate or on_demand, got '${policy}'`);
  if (values.create && !(await host.listRepositories()).some((r) => r.name === name)) await host.createRepository({ name: name! });
  const progress = json ? undefined : new ProgressLine(io, `syncing ${name}`);
  try {
    const outcome = await host.sync(name!, {
      ...(values.importer ? { importer: values.importer } : {}),
      ...(values.url ? { url: values.url } : {}),
      ...(policy ? { policy } : {}),
      mirror: values.mirror,
      force: values.force,
      ...(values.config !== undefined ? { config: parseConfig(values.config)! } : {}),
      remote,
      ...(io.signal ? { signal: io.signal } : {}),
      ...(progress
        ? { onProgress: (p) => progress.update(`${name}: ${p.added} added, ${p.updated} updated, ${p.removed} removed, ${p.downloadedFiles} files downloaded (${formatBytes(p.downloadedBytes)})`) }
        : {}),
    });
    progress?.stop();
    const r = outcome.report;
    if (json) printJson(io, outcome);
    else {
      const counts = (c: Record<string, number>) => Object.entries(c).map(([t, n]) => `${n} ${t}`).join(', ') || '0';
      if (outcome.finishedEarly) io.stdout.write(`'${name}' is up to date (${outcome.finishedEarly}); version ${outcome.version}\n`);
      else io.stdout.write(`synced '${name}' to version ${outcome.version}${outcome.newVersion ? '' : ' (no content change)'}: added ${counts(r.added)}; updated ${counts(r.updated)}; removed ${counts(r.removed)}; downloaded ${r.downloaded.count} files (${formatBytes(r.downloaded.bytes)}) in ${((r.timings.total ?? 0) / 1000).toFixed(1)}s\n`);
    }
  } finally {
    progress?.stop();
  }
};

const units: Command = async ({ host, io, json, positionals, values }) => {
  const [name] = need(positionals, 1, 'repository name');
  const version = values.version !== undefined ? Number(values.version) : undefined;
  if (version !== undefined && !Number.isInteger(version)) throw usage('--version must be an integer');
  const options = { ...(values.type ? { typeId: values.type } : {}), ...(version !== undefined ? { version } : {}) };
  let count = 0;
  for await (const unit of host.units(name!, options)) {
    count++;
    if (json) {
      printJson(io, {
        type: unit.typeId,
        key: unit.key,
        metadata: unit.metadata,
        origin: unit.origin,
        artifacts: unit.artifacts.map((a) => ({ relativePath: a.relativePath, sha256: a.sha256, size: a.size, stored: a.stored })),
      });
    } else {
      const files = unit.artifacts.map((a) => `${a.relativePath}${a.stored ? '' : ' (not stored)'}`).join(', ');
      io.stdout.write(`${unit.typeId}  ${JSON.stringify(unit.key)}${files ? `  ${files}` : ''}\n`);
    }
  }
  if (!json) io.stdout.write(`${count} units\n`);
};

const history: Command = async ({ host, io, json, positionals, values }) => {
  const [name] = need(positionals, 1, 'repository name');
  const limit = values.limit !== undefined ? Number(values.limit) : 50;
  const records = await host.history(name!, limit);
  if (json) for (const record of records) printJson(io, record);
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
        h.error ? String((h.error as { code?: string }).code) : (h.report?.finishedEarly ?? ''),
      ]),
    );
};

const exportCommand: Command = async ({ host, io, json, positionals, values, remote }) => {
  const [name, directory] = need(positionals, 2, 'repository name and target directory');
  const result = await host.exportRepository(name!, directory!, { fetchMissing: !values['no-fetch'], remote, ...(io.signal ? { signal: io.signal } : {}) });
  if (json) printJson(io, result);
  else io.stdout.write(`exported ${result.files} files (${formatBytes(result.bytes)}) to ${directory}${result.fetched ? `, ${result.fetched} fetched on demand` : ''}${result.conflicts ? `; ${result.conflicts} paths claimed twice (first kept)` : ''}\n`);
};

const orphans: Command = async ({ host, io, json, positionals }) => {
  const [action] = need(positionals, 1, "orphans action ('cleanup')");
  if (action !== 'cleanup') throw usage(`unknown orphans action '${action}'`);
  const result = await host.cleanupOrphans();
  if (json) printJson(io, result);
  else {
    io.stdout.write(`removed ${result.units} orphan units and ${result.artifacts} orphan artifacts\n`);
    if (result.tempScopes > 0 || result.stagedFiles > 0) {
      io.stdout.write(`removed what ${result.tempScopes} stopped syncs left in scratch space and ${result.stagedFiles} staged files never adopted\n`);
    }
  }
};

const plugins: Command = async ({ host, io, json, positionals }) => {
  const [action] = need(positionals, 1, "plugins action ('list')");
  if (action !== 'list') throw usage(`unknown plugins action '${action}'`);
  const list = host.plugins.list().map((p) => ({ name: p.name, version: p.version, hostApi: p.hostApi, contentTypes: p.contentTypes.map((t) => t.id) }));
  if (json) for (const p of list) printJson(io, p);
  else printTable(io, ['NAME', 'VERSION', 'HOST API', 'CONTENT TYPES'], list.map((p) => [p.name, p.version, p.hostApi, p.contentTypes.join(', ')]));
};

export const COMMANDS: Readonly<Record<string, Command>> = { repo, sync, units, history, export: exportCommand, orphans, plugins };
