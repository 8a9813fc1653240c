import { createReadStream } from 'node:fs';
import path from 'node:path';
import { ErrorCodes, TributaryError, type CountsByType, type UnitKey } from '@tributary/plugin-api';
import type { ChangeOutcome, UnitSelection } from '../versions/repository-changes.js';
import type { VersionView } from '../versions/version-history.js';
import { ChunkedWriter, plural, printJson, printTable, unitCounts, type CliIo } from './cli-io.js';
import { usage, type CliValues } from './cli-options.js';
import type { Command } from './command.js';

/**
 * The commands that manage what a repository holds besides syncing: its versions (list, show,
 * diff, delete), rollback, retention (`repo update`), adding and removing units, and copying them
 * from another repository.
 */

function need(command: string, positionals: readonly string[], count: number, what: string): string[] {
  if (positionals.length < count) throw usage(`missing ${what}`, command);
  if (positionals.length > count) throw usage(`unexpected argument '${positionals[count]}'`, command);
  return positionals.slice(0, count) as string[];
}

/** A version number given as an argument or option: a non-negative integer. */
function versionNumber(command: string, what: string, text: string): number {
  const version = Number(text);
  if (text.trim() === '' || !Number.isInteger(version) || version < 0) throw usage(`${what} must be a version number (0, 1, …), got '${text}'`, command);
  return version;
}

function sum(counts: CountsByType): number {
  let n = 0;
  for (const v of Object.values(counts)) n += v;
  return n;
}

function versionLine(v: VersionView): unknown[] {
  return [v.version, v.createdAt ?? '-', v.kind, sum(v.counts), `+${sum(v.added)}`, `-${sum(v.removed)}`, v.note ?? (v.syncId ? `sync ${v.syncId}` : '')];
}

const versionsList: Command = async ({ host, io, json, positionals }) => {
  const [name] = need('versions', positionals, 1, 'repository name');
  const versions = await host.versions(name!);
  if (json) io.stdout.write(versions.map((v) => `${JSON.stringify(v)}\n`).join(''));
  else printTable(io, ['VERSION', 'CREATED', 'BY', 'UNITS', 'ADDED', 'REMOVED', 'NOTE'], versions.map(versionLine));
};

const versionsShow: Command = async ({ host, io, json, positionals }) => {
  const [name, number] = need('versions show', positionals, 2, 'repository name and version');
  const v = await host.version(name!, versionNumber('versions show', 'the version', number!));
  if (json) printJson(io, v);
  else {
    io.stdout.write(
      [
        `version:  ${v.version}`,
        `created:  ${v.createdAt ?? '-'}`,
        `by:       ${v.kind}${v.syncId ? ` (sync ${v.syncId})` : ''}`,
        ...(v.note ? [`note:     ${v.note}`] : []),
        `units:    ${unitCounts(v.counts)}`,
        `added:    ${unitCounts(v.added)}${v.base === null ? '' : ` (against version ${v.base})`}`,
        `removed:  ${unitCounts(v.removed)}`,
      ].join('\n') + '\n',
    );
  }
};

/** Streams the changes a line each (64 KiB writes that wait for the reader), then counts them by type. */
const versionsDiff: Command = async ({ host, io, json, positionals, values }) => {
  const [name, a, b] = need('versions diff', positionals, 3, 'repository name and two versions');
  const from = versionNumber('versions diff', 'the first version', a!);
  const to = versionNumber('versions diff', 'the second version', b!);
  const out = new ChunkedWriter(io.stdout);
  const added: Record<string, number> = {};
  const removed: Record<string, number> = {};
  listing: for await (const change of host.diffVersions(name!, from, to)) {
    if (values.type !== undefined && change.typeId !== values.type) continue;
    if (out.closed) break listing;
    const counts = change.change === 'added' ? added : removed;
    counts[change.typeId] = (counts[change.typeId] ?? 0) + 1;
    const line = json ? JSON.stringify({ change: change.change, type: change.typeId, key: change.key }) : `${change.change === 'added' ? '+' : '-'} ${change.typeId}  ${JSON.stringify(change.key)}`;
    const pending = out.push(`${line}\n`);
    if (pending) await pending;
  }
  await out.flush();
  if (!json) io.stdout.write(`version ${to} against ${from}: added ${unitCounts(added)}; removed ${unitCounts(removed)}\n`);
};

const versionsDelete: Command = async ({ host, io, json, positionals }) => {
  const [name, number] = need('versions delete', positionals, 2, 'repository name and version');
  const version = versionNumber('versions delete', 'the version', number!);
  await host.deleteVersion(name!, version);
  if (json) printJson(io, { repository: name, deleted: version });
  else io.stdout.write(`deleted version ${version} of '${name}'\n`);
};

/** A change's outcome in words: what it committed, or that it committed nothing. */
function printOutcome(io: CliIo, json: boolean, outcome: ChangeOutcome, what: string): void {
  if (json) {
    printJson(io, outcome);
    return;
  }
  if (!outcome.newVersion) io.stdout.write(`${what}: nothing changes; '${outcome.repository}' stays at version ${outcome.version}\n`);
  else {
    const replaced = outcome.replaced && sum(outcome.replaced) > 0 ? `; shown as the source shows them: ${unitCounts(outcome.replaced)}` : '';
    io.stdout.write(`${what}: version ${outcome.version} of '${outcome.repository}': added ${unitCounts(outcome.added)}; removed ${unitCounts(outcome.removed)}${replaced}\n`);
  }
  if (outcome.unmatched) io.stdout.write(`${plural(outcome.unmatched, 'key')} matched no unit of the repository\n`);
  if (outcome.deletedVersions.length > 0) io.stdout.write(`retention deleted version${outcome.deletedVersions.length > 1 ? 's' : ''} ${outcome.deletedVersions.join(', ')}\n`);
  for (const warning of outcome.warnings) io.stderr.write(`warning: ${warning}\n`);
}

const repoRollback: Command = async ({ host, io, json, positionals }) => {
  const [name, number] = need('repo rollback', positionals, 2, 'repository name and version');
  const version = versionNumber('repo rollback', 'the version', number!);
  printOutcome(io, json, await host.rollback(name!, version), `rolled back to version ${version}`);
};

/** `--retain-versions K` (a positive integer) or `all` (keep every version: null). */
export function retainOption(command: string, values: CliValues): number | null | undefined {
  const text = values['retain-versions'];
  if (text === undefined) return undefined;
  if (text === 'all') return null;
  const count = Number(text);
  if (text.trim() === '' || !Number.isInteger(count) || count < 1) throw usage(`--retain-versions must be a positive number of versions or 'all', got '${text}'`, command);
  return count;
}

const repoUpdate: Command = async ({ host, io, json, positionals, values }) => {
  const [name] = need('repo update', positionals, 1, 'repository name');
  let config: Record<string, unknown> | undefined;
  if (values.config !== undefined) {
    try {
      config = JSON.parse(values.config) as Record<string, unknown>;
    } catch (error) {
      throw usage(`--config is not valid JSON: ${(error as Error).message}`, 'repo update');
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw usage('--config must be a JSON object', 'repo update');
  }
  const retainVersions = retainOption('repo update', values);
  const patch = {
    ...(values.description !== undefined ? { description: values.description } : {}),
    ...(values.url !== undefined ? { feedUrl: values.url } : {}),
    ...(config !== undefined ? { config } : {}),
    ...(values.importer !== undefined ? { importer: values.importer } : {}),
    ...(retainVersions !== undefined ? { retainVersions } : {}),
  };
  if (Object.keys(patch).length === 0) throw usage('nothing to update: give --description, --url, --config, --importer or --retain-versions', 'repo update');
  const { repository: updated, deletedVersions } = await host.updateRepository(name!, patch);
  if (json) {
    printJson(io, { name: updated.name, description: updated.description, importer: updated.importer, config: updated.config, retainVersions: updated.retainVersions, updatedAt: updated.updatedAt, deletedVersions });
    return;
  }
  io.stdout.write(`updated repository '${updated.name}'${updated.retainVersions !== null ? ` (keeps the newest ${plural(updated.retainVersions, 'version')})` : ''}\n`);
  if (deletedVersions.length > 0) io.stdout.write(`retention deleted version${deletedVersions.length > 1 ? 's' : ''} ${deletedVersions.join(', ')}\n`);
};

/**
 * The units `units add|remove` are about: `--key JSON` (repeatable), `--from-file KEYS.jsonl` (a
 * key a line, read as the change goes) or `--filter EXPR`; exactly one of them.
 */
function selectionOf(command: string, values: CliValues, cwd: string): UnitSelection {
  const given = [values.key !== undefined, values['from-file'] !== undefined, values.filter !== undefined].filter(Boolean).length;
  if (given !== 1) throw usage('give the units as one of --key JSON (repeatable), --from-file KEYS.jsonl or --filter EXPR', command);
  if (values.filter !== undefined) return { filter: values.filter };
  if (values.key !== undefined) return { keys: values.key.map((text, i) => keyOf(text, `--key #${i + 1}`, (message) => usage(message, command))) };
  return { keys: keysFromFile(path.resolve(cwd, values['from-file']!)) };
}

function keyOf(text: string, where: string, fail: (message: string) => TributaryError): UnitKey {
  let key: unknown;
  try {
    key = JSON.parse(text);
  } catch (error) {
    throw fail(`${where} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw fail(`${where} must be a JSON object (a unit key, e.g. {"name":"kernel",…}), got ${text.slice(0, 80)}`);
  return key as UnitKey;
}

/** The keys of a JSON-lines file, a line at a time (blank lines skipped); a bad line is TRIBUTARY_ERR_INVALID_ARGUMENT naming it. */
async function* keysFromFile(file: string): AsyncIterable<UnitKey> {
  const input = createReadStream(file, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  try {
    await opened;
  } catch (error) {
    throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `cannot read --from-file ${file}: ${(error as Error).message}`, { details: { file } });
  }
  // readline loads here, not with the CLI's commands: only --from-file reads lines
  const { createInterface } = require('node:readline') as typeof import('node:readline');
  const lines = createInterface({ input, crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const line of lines) {
      number++;
      if (line.trim() === '') continue;
      yield keyOf(line, `line ${number} of ${file}`, (message) => new TributaryError(ErrorCodes.INVALID_ARGUMENT, message, { details: { file, line: number } }));
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

function unitsChange(change: 'add' | 'remove'): Command {
  const command = `units ${change}`;
  return async ({ host, io, json, positionals, values }) => {
    const [name] = need(command, positionals, 1, 'repository name');
    if (values.type === undefined) throw usage('missing --type (the content type of the units; `tributary plugins list` shows the types)', command);
    const selection = selectionOf(command, values, io.cwd);
    const outcome = change === 'add' ? await host.addUnits(name!, values.type, selection) : await host.removeUnits(name!, values.type, selection);
    printOutcome(io, json, outcome, change === 'add' ? `added units to '${name}'` : `removed units from '${name}'`);
  };
}

const copy: Command = async ({ host, io, json, positionals, values }) => {
  const [source, target] = need('copy', positionals, 2, 'source and target repository names');
  const version = values.version === undefined ? undefined : versionNumber('copy', '--version', values.version);
  const outcome = await host.copyUnits(source!, target!, {
    ...(values.type !== undefined ? { typeId: values.type } : {}),
    ...(values.filter !== undefined ? { filter: values.filter } : {}),
    ...(version !== undefined ? { version } : {}),
  });
  printOutcome(io, json, outcome, `copied units of '${source}' into '${target}'`);
};

export const VERSION_COMMANDS: Readonly<Record<string, Command>> = {
  versions: versionsList,
  'versions show': versionsShow,
  'versions diff': versionsDiff,
  'versions delete': versionsDelete,
  'repo rollback': repoRollback,
  'repo update': repoUpdate,
  'units add': unitsChange('add'),
  'units remove': unitsChange('remove'),
  copy,
};
