import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';

export const USAGE = `Usage: tributary [--home DIR] [--store URI] [--json] [--plugin PKG_OR_PATH]... COMMAND

Commands:
  repo create NAME [--importer NAME] [--url URL] [--config JSON] [--description TEXT] [--retain-versions K]
  repo list
  repo show NAME
  repo delete NAME
  repo update NAME [--description TEXT] [--url URL] [--config JSON] [--importer NAME] [--retain-versions K|all]
  repo rollback NAME VERSION
  sync REPO --importer NAME --url URL [--policy immediate|on_demand] [--mirror] [--force] [--create]
            [--on-error fail|skip[:LIMIT]] [--config JSON] [--ca PEM] [--no-tls-verify]
            [--client-cert PEM --client-key PEM] [--proxy URL] [--header 'Name: value']...
            [--username U --password-env VAR] [--concurrency N] [--idle-timeout SECONDS]
  units REPO [--type TYPE] [--version N]
  units add|remove REPO --type TYPE (--key JSON... | --from-file KEYS.jsonl | --filter EXPR)
  copy SRC DST [--type TYPE] [--filter EXPR] [--version N]
  versions REPO
  versions show REPO N | diff REPO A B [--type TYPE] | delete REPO N
  history REPO [--limit N]
  export REPO DIR [--version N] [--clean] [--option K=V]... [--no-fetch] [remote options as for sync]
  publish REPO [--version N] [--option K=V]...
  distribution create NAME --repository REPO --base-path PATH [--version N] [--option K=V]...
  distribution list | show NAME | delete NAME
  distribution update NAME [--repository REPO] [--base-path PATH] [--version N|latest] [--option K=V]...
  serve [--listen HOST:PORT] [--workers N|auto] [remote options as for sync]
  orphans cleanup [--protect-minutes M]
  plugins list

Global options:
  --home DIR      where the catalog and storage live (default $TRIBUTARY_HOME, else ./.tributary)
  --store URI     catalog: a SQLite file path (default <home>/catalog.db) or mongodb://…
  --json          machine-readable output (units: one JSON object per line)
  --plugin P      load a third-party importer (package name or path); 'file' and 'rpm' are bundled

Compiled importer schemas (schemas/), and the compiled code of the CLI's modules and the files their
requires resolved to (code/), are kept in
$TRIBUTARY_CACHE_DIR, else $XDG_CACHE_HOME/tributary or ~/.cache/tributary (TRIBUTARY_CACHE_DIR=off keeps none).

'tributary COMMAND --help' (or 'tributary help COMMAND') shows a command's options and their defaults;
'tributary help filter' the unit filters of units add|remove and copy.
`;

const OPTIONS = {
  home: { type: 'string' },
  store: { type: 'string' },
  json: { type: 'boolean', default: false },
  plugin: { type: 'string', multiple: true },
  importer: { type: 'string' },
  url: { type: 'string' },
  policy: { type: 'string' },
  mirror: { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  create: { type: 'boolean', default: false },
  'on-error': { type: 'string' },
  config: { type: 'string' },
  type: { type: 'string' },
  version: { type: 'string' },
  limit: { type: 'string' },
  description: { type: 'string' },
  ca: { type: 'string' },
  'client-cert': { type: 'string' },
  'client-key': { type: 'string' },
  'no-tls-verify': { type: 'boolean', default: false },
  proxy: { type: 'string' },
  header: { type: 'string', multiple: true },
  username: { type: 'string' },
  'password-env': { type: 'string' },
  concurrency: { type: 'string' },
  'idle-timeout': { type: 'string' },
  'no-fetch': { type: 'boolean', default: false },
  clean: { type: 'boolean', default: false },
  option: { type: 'string', multiple: true },
  repository: { type: 'string' },
  'base-path': { type: 'string' },
  listen: { type: 'string' },
  workers: { type: 'string' },
  'retain-versions': { type: 'string' },
  'protect-minutes': { type: 'string' },
  key: { type: 'string', multiple: true },
  'from-file': { type: 'string' },
  filter: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

export type OptionName = keyof typeof OPTIONS;

/** Every command takes these. */
const GLOBAL_OPTIONS: readonly OptionName[] = ['home', 'store', 'json', 'plugin', 'help'];

/** How to reach a remote: sync uses them, and export when it fetches on_demand files. Never remembered. */
const REMOTE_OPTIONS: readonly OptionName[] = ['ca', 'client-cert', 'client-key', 'no-tls-verify', 'proxy', 'header', 'username', 'password-env', 'concurrency', 'idle-timeout'];

/** Each option as help shows it: its spelling with a value, what it does, and its default. */
const OPTION_HELP: Readonly<Record<OptionName, readonly [flag: string, text: string]>> = {
  home: ['--home DIR', 'where the catalog and storage live (default: $TRIBUTARY_HOME, else ./.tributary)'],
  store: ['--store URI', 'the catalog: a SQLite file (default: <home>/catalog.db) or mongodb://…'],
  json: ['--json', 'machine-readable output: JSON lines on stdout, errors (and sync progress) as JSON on stderr (default: off)'],
  plugin: ['--plugin PKG_OR_PATH', "load another importer, repeatable (default: only the bundled 'file' and 'rpm')"],
  help: ['-h, --help', 'show this help'],
  importer: ['--importer NAME', 'importer that reads upstream'],
  url: ['--url URL', 'upstream url'],
  config: ['--config JSON', "the importer's settings, a JSON object"],
  description: ['--description TEXT', 'a description (default: none)'],
  policy: ['--policy immediate|on_demand', 'immediate downloads every file; on_demand records where each is and downloads only metadata (default: the policy of the last successful sync, else immediate)'],
  mirror: ['--mirror', 'also remove what upstream no longer lists (default: off — add and update, remove nothing)'],
  force: ['--force', "compare everything even when upstream's index is unchanged (default: off — an unchanged index ends the sync early)"],
  create: ['--create', 'create the repository if it does not exist; it is deleted again when this sync fails (default: off)'],
  'on-error': [
    '--on-error fail|skip[:LIMIT]',
    'when a file of a unit cannot be fetched (an error status after the retries, wrong size or digest): fail the sync, or leave the unit out of the new version and list it in the report, failing only when more than LIMIT (default: 100) fail; network errors and stalls always fail (default: fail)',
  ],
  type: ['--type TYPE', 'only units of this content type (default: every type); `tributary plugins list` shows the types'],
  version: ['--version N', 'the repository version (default: the latest)'],
  limit: ['--limit N', 'show at most N syncs, newest first (default: 50)'],
  'no-fetch': ['--no-fetch', 'leave out files whose bytes are not stored instead of fetching them (default: fetch them first)'],
  clean: ['--clean', 'empty a non-empty target directory first (default: refuse a non-empty one)'],
  option: ['--option KEY=VALUE', "a publisher option, repeatable; VALUE is JSON or else a string (default: the publisher's defaults)"],
  repository: ['--repository REPO', 'the repository it serves'],
  'base-path': ['--base-path PATH', "where it is served: /content/PATH/ ('/'-separated segments)"],
  listen: ['--listen HOST:PORT', 'address to serve on (default: 127.0.0.1:24816)'],
  workers: ['--workers N|auto', "serving processes sharing the address; 'auto' is one per CPU (default: 1)"],
  ca: ['--ca PEM', 'trust the CA certificates in this PEM file (default: the system CAs)'],
  'client-cert': ['--client-cert PEM', 'client certificate (PEM file) for TLS client authentication, with --client-key (default: none)'],
  'client-key': ['--client-key PEM', "the client certificate's private key (PEM file) (default: none)"],
  'no-tls-verify': ['--no-tls-verify', "do not verify the server's certificate (default: verify)"],
  proxy: ['--proxy URL', 'send requests through this http(s) proxy (default: none)'],
  header: ['--header "Name: value"', 'add a request header, repeatable (default: none)'],
  username: ['--username U', 'HTTP basic auth user, with --password-env (default: none)'],
  'password-env': ['--password-env VAR', 'read the basic auth password from environment variable VAR (default: none)'],
  concurrency: ['--concurrency N', 'at most N transfers at once per host (default: 10)'],
  'idle-timeout': ['--idle-timeout SECONDS', 'a transfer silent this long fails and is retried (default: 60)'],
  'retain-versions': ['--retain-versions K|all', "keep only the newest K versions: after each commit the older ones are deleted, except one a distribution serves; 'all' keeps every version (default: all)"],
  'protect-minutes': ['--protect-minutes M', 'keep units and files stored less than M minutes ago, orphans or not (default: 60)'],
  key: ['--key JSON', 'a unit key as a JSON object, e.g. \'{"name":"tb-hello","epoch":"0",…}\'; repeatable'],
  'from-file': ['--from-file KEYS.jsonl', 'unit keys, one JSON object a line (read as the change goes)'],
  filter: ['--filter EXPR', "units whose key or metadata fields match: name=kernel* (glob), arch in (x86_64, noarch), name!=foo, and, or, not, parentheses; a quoted value compares exactly (see 'tributary help filter')"],
};

/** `tributary help filter`: the unit filter language. */
export const FILTER_HELP = `Unit filters (units add|remove --filter, copy --filter)

A filter compares fields of a unit's key and metadata:

  name=kernel*                       glob: * ? [abc] {a,b}  (* also matches '/')
  name!=kernel-debug*                not equal (a unit without the field matches)
  arch in (x86_64, noarch)           any of the values, each may be a glob
  arch not in (i686, src)
  not (name=foo* or epoch!=0) and metadata.summary="hello world"

- 'name' looks in the key, then in the metadata; 'key.name' and 'metadata.summary' say which.
  Dots go into nested objects (metadata.location.href). A list matches when any element does;
  numbers compare as their text (epoch=0). A missing field equals nothing.
- A bare value with * ? [ ] or { } is a glob, matched whole and case-sensitively; any other value
  compares exactly. A quoted value ('…' or "…") always compares exactly and may hold spaces,
  parentheses, commas, = and !.
- 'and' binds tighter than 'or', 'not' tighter than both; keywords in any case.

A filter that does not parse is TRIBUTARY_ERR_FILTER_INVALID naming the character where it went
wrong and what was expected there; one that matches no unit is TRIBUTARY_ERR_UNIT_NOT_FOUND.
`;

export interface CommandSpec {
  /** `sync`, or `repo create` for an action of a command group. */
  readonly name: string;
  readonly arguments: string;
  readonly summary: string;
  /** The command's own options, in help order; the global options come on top. */
  readonly options: readonly OptionName[];
  /** What a default means for this command, where the table alone would not say it. */
  readonly optionText?: Partial<Record<OptionName, string>>;
  readonly notes?: string;
}

const SYNC_NOTES = `Remembered: importer, url, policy and config. A sync that succeeds stores them on the repository,
and a later 'sync REPO' without them uses them again (the url without credentials).
Not remembered: --mirror, --force and the remote options. They apply to this sync only, as does
--on-error, so every sync is additive, unforced and fails at the first bad file unless it says
otherwise: repeat '--mirror' on each sync that wants it.

Skipped units: a unit left out by --on-error skip is listed after the summary (and in 'history
--json'). One the previous version held stays in an additive sync and is removed by a mirror sync.
The next sync compares every unit again (it never ends early), so it retries them.

Progress: on a terminal a status line on stderr; otherwise a line on stderr every 5 seconds (a JSON
line with --json). TRIBUTARY_PROGRESS_SECONDS sets the interval, 0 turns it off.`;

const COMMAND_SPECS: readonly CommandSpec[] = [
  {
    name: 'repo create',
    arguments: 'NAME',
    summary: 'Creates an empty repository. Its importer, url and config may be given now or by its first sync.',
    options: ['importer', 'url', 'config', 'description', 'retain-versions'],
    optionText: {
      importer: 'importer its syncs use (default: none yet; the first sync names one)',
      url: 'upstream url its syncs use (default: none yet; the first sync names one)',
      config: "the importer's settings, a JSON object (default: the importer's defaults)",
    },
  },
  { name: 'repo list', arguments: '', summary: 'Lists the repositories: name, latest version, importer and feed.', options: [] },
  { name: 'repo show', arguments: 'NAME', summary: 'Shows a repository: version, importer, feed, units per type and its last sync.', options: [] },
  { name: 'repo delete', arguments: 'NAME', summary: "Deletes a repository (not while it syncs). Its units stay stored until 'orphans cleanup'.", options: [] },
  {
    name: 'repo update',
    arguments: 'NAME',
    summary: "Changes a repository's settings: description, feed url, importer config, importer, and how many\nversions it keeps.",
    options: ['description', 'url', 'config', 'importer', 'retain-versions'],
    optionText: {
      description: 'a new description (default: unchanged)',
      url: 'a new upstream url for its syncs (default: unchanged)',
      config: "new importer settings, a JSON object (default: unchanged)",
      importer: 'another importer for its syncs (default: unchanged)',
      'retain-versions': "keep only the newest K versions (version 0 counts): the older ones are deleted now and after each commit (sync, rollback, copy, units add|remove), except one a distribution serves; 'all' keeps every version (default: unchanged)",
    },
    notes: "Versions deleted by retention can no longer be read ('units --version', 'export --version', distributions);\n'orphans cleanup' then removes the units and files no remaining version holds.",
  },
  {
    name: 'repo rollback',
    arguments: 'NAME VERSION',
    summary: 'Commits a new version holding exactly what VERSION holds (the same units, as VERSION showed\nthem); history stays linear. Holds the repository like a sync does.',
    options: [],
  },
  {
    name: 'versions',
    arguments: 'REPO',
    summary: "Lists a repository's versions, oldest first: when each was made, by what (sync, rollback, copy,\nmodify), the units it holds and what it added and removed against the version before it.",
    options: [],
    notes: "Version 0, the empty version every repository starts at, is not listed ('versions show REPO 0'\nshows it). Deleted versions are not listed.",
  },
  { name: 'versions show', arguments: 'REPO N', summary: 'Shows one version: when it was made, by what, its units and changes per type.', options: [] },
  {
    name: 'versions diff',
    arguments: 'REPO A B',
    summary: 'Lists the units version B holds that A does not (+) and those A holds that B does not (-),\na line each as they are read, then the counts per type. A may be newer than B.',
    options: ['type'],
    optionText: { type: 'only changes of this content type (default: every type)' },
  },
  {
    name: 'versions delete',
    arguments: 'REPO N',
    summary: 'Deletes a version: it can no longer be read, and no other version changes. Not the latest, and\nnot one a distribution serves.',
    options: [],
    notes: "Units only that version held become orphans: 'orphans cleanup' removes them and their files.",
  },
  {
    name: 'units add',
    arguments: 'REPO',
    summary: "Adds units the catalog holds (synced into some repository before) to REPO in one new version.\nThey are user-added: a mirror sync keeps them.",
    options: ['type', 'key', 'from-file', 'filter'],
    optionText: { type: 'the content type of the units (required)', filter: "units of the type in the catalog whose fields match (see 'tributary help filter')" },
    notes: 'Give the units one way: --key (repeatable), --from-file or --filter. A key the catalog does not\nhold, or a filter nothing matches, is TRIBUTARY_ERR_UNIT_NOT_FOUND and changes nothing.',
  },
  {
    name: 'units remove',
    arguments: 'REPO',
    summary: 'Removes units from REPO in one new version.',
    options: ['type', 'key', 'from-file', 'filter'],
    optionText: { type: 'the content type of the units (required)', filter: "units of the type in REPO whose fields match (see 'tributary help filter')" },
    notes: 'Give the units one way: --key (repeatable), --from-file or --filter. Keys of which none is in REPO,\nor a filter nothing matches, are TRIBUTARY_ERR_UNIT_NOT_FOUND and change nothing.',
  },
  {
    name: 'copy',
    arguments: 'SRC DST',
    summary: "Copies units of a version of SRC into one new version of DST, by reference: stored files and\nwhere to fetch on_demand ones come with them. SRC may be DST (an older version's units back).",
    options: ['type', 'filter', 'version'],
    optionText: {
      type: 'only units of this content type (default: every type)',
      filter: "only units whose fields match (see 'tributary help filter') (default: all)",
      version: "SRC's version to copy from (default: its latest)",
    },
    notes: 'Copied units are user-added in DST (a mirror sync keeps them), each as the source version shows it.',
  },
  {
    name: 'sync',
    arguments: 'REPO',
    summary: 'Syncs REPO from upstream and commits a new version; a failed or cancelled sync leaves the\nprevious version untouched.',
    options: ['importer', 'url', 'config', 'policy', 'mirror', 'force', 'create', 'on-error', ...REMOTE_OPTIONS],
    optionText: {
      importer: 'importer that reads upstream (default: the one the last successful sync used; required on the first sync)',
      url: "upstream url: for 'file' a PULP_MANIFEST or its directory (ending in /), for 'rpm' the directory holding repodata/ (default: the last successful sync's url; required on the first sync)",
      config: "the importer's settings, a JSON object (default: the last successful sync's config, else the importer's defaults)",
    },
    notes: SYNC_NOTES,
  },
  {
    name: 'units',
    arguments: 'REPO',
    summary: 'Lists the units of a repository version, one per line (one JSON object per line with --json).',
    options: ['type', 'version'],
  },
  {
    name: 'history',
    arguments: 'REPO',
    summary: "Lists a repository's syncs, newest first: when, outcome, resulting version, units added and\nremoved, and a note (why it failed, or why it ended early).",
    options: ['limit'],
  },
  {
    name: 'export',
    arguments: 'REPO DIR',
    summary: "Writes a version's publication into DIR (for rpm a tree dnf installs from; for file one\nwith a PULP_MANIFEST). DIR must be empty unless --clean.",
    options: ['version', 'clean', 'option', 'no-fetch', ...REMOTE_OPTIONS],
    optionText: { version: 'the repository version to export (default: the latest)' },
    notes: 'Files an on_demand sync did not download are fetched (and kept) first, with the remote options given here.',
  },
  {
    name: 'publish',
    arguments: 'REPO',
    summary: "Publishes a version: lays out its files as its importer's publisher does (repodata for rpm,\nPULP_MANIFEST for file) and keeps the tree. Export and serve publish on their own when needed.",
    options: ['version', 'option'],
    optionText: { version: 'the repository version to publish (default: the latest)' },
  },
  {
    name: 'distribution create',
    arguments: 'NAME',
    summary: "Serves a repository under /content/PATH/ with 'tributary serve': its latest version (following\nevery sync) or a fixed one.",
    options: ['repository', 'base-path', 'version', 'option'],
    optionText: { version: 'serve this version only (default: follow the latest)' },
  },
  { name: 'distribution list', arguments: '', summary: 'Lists the distributions: name, base path, repository and version.', options: [] },
  { name: 'distribution show', arguments: 'NAME', summary: 'Shows a distribution.', options: [] },
  {
    name: 'distribution update',
    arguments: 'NAME',
    summary: 'Changes what a distribution serves or where.',
    options: ['repository', 'base-path', 'version', 'option'],
    optionText: {
      repository: 'serve another repository (its latest version unless --version)',
      'base-path': 'serve under another base path',
      version: "serve this version, or 'latest' to follow the latest (default: unchanged)",
      option: 'replace the publisher options (default: unchanged)',
    },
  },
  { name: 'distribution delete', arguments: 'NAME', summary: 'Stops serving a distribution (the repository is untouched).', options: [] },
  {
    name: 'serve',
    arguments: '',
    summary: 'Serves every distribution over HTTP at /content/BASE_PATH/: stored files from storage, on_demand\nfiles fetched from upstream when first asked for (once), verified, then kept.',
    options: ['listen', 'workers', ...REMOTE_OPTIONS],
    optionText: { concurrency: 'at most N on-demand transfers at once per upstream host (default: 10)' },
    notes: `The access log goes to stdout: a line per request, a JSON line with --json. SIGTERM or SIGINT
stops it gracefully: no new requests, the ones in flight finish.`,
  },
  {
    name: 'orphans cleanup',
    arguments: '',
    summary: 'Removes units no repository version holds, files no unit uses, and scratch space that stopped\nsyncs left. Refused while any sync runs; a sync that starts meanwhile waits for it.',
    options: ['protect-minutes'],
  },
  { name: 'plugins list', arguments: '', summary: 'Lists the importers loaded: name, version, host API and content types.', options: [] },
];

const SPECS = new Map(COMMAND_SPECS.map((spec) => [spec.name, spec]));

/** Commands made of actions (`repo create`), and their actions. */
export const COMMAND_GROUPS: Readonly<Record<string, readonly string[]>> = {
  repo: ['create', 'list', 'show', 'delete', 'update', 'rollback'],
  // `units REPO` and `versions REPO` are commands too (a repository named like an action needs the action's own form)
  units: ['add', 'remove'],
  versions: ['show', 'diff', 'delete'],
  orphans: ['cleanup'],
  distribution: ['create', 'list', 'show', 'update', 'delete'],
  plugins: ['list'],
};

export function commandSpec(name: string): CommandSpec | undefined {
  return SPECS.get(name);
}

/** The command a command line names: `sync`, `repo create`, or just the group (`repo`) when its action is missing or unknown. */
export function commandName(positionals: readonly string[]): string | undefined {
  const [group, action] = positionals;
  if (group === undefined) return undefined;
  const actions = COMMAND_GROUPS[group];
  if (actions && action !== undefined && actions.includes(action)) return `${group} ${action}`;
  return group;
}

/** Help lines at most this wide, where words allow. */
const HELP_WIDTH = 100;

function optionLines(names: readonly OptionName[], own: Partial<Record<OptionName, string>> = {}): string {
  const rows = names.map((name) => [OPTION_HELP[name][0], own[name] ?? OPTION_HELP[name][1]] as const);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}${wrap(text, HELP_WIDTH - width - 2).join(`\n  ${' '.repeat(width)}`)}`).join('\n');
}

/** `text` in lines of at most `width` characters, broken between words. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** `tributary sync --help`: what the command does, each option with its default, and its notes. */
export function commandHelp(name: string): string {
  const actions = COMMAND_GROUPS[name];
  const lines = (actions ?? []).map((action) => {
    const spec = SPECS.get(`${name} ${action}`)!;
    return `  tributary ${spec.name}${spec.arguments ? ` ${spec.arguments}` : ''}\n      ${spec.summary.replace(/\n/g, '\n      ')}`;
  });
  const spec = SPECS.get(name);
  if (actions && !spec) {
    return `Usage: tributary ${name} ${actions.join('|')} …\n\n${lines.join('\n')}\n\n'tributary ${name} ACTION --help' shows an action's options.\n`;
  }
  if (!spec) return USAGE;
  const own = spec.options.filter((o) => !REMOTE_OPTIONS.includes(o));
  const remote = spec.options.filter((o) => REMOTE_OPTIONS.includes(o));
  const sections = [`Usage: tributary ${spec.name}${spec.arguments ? ` ${spec.arguments}` : ''}${spec.options.length ? ' [options]' : ''}`, spec.summary];
  if (own.length) sections.push(`Options:\n${optionLines(own, spec.optionText)}`);
  if (remote.length) sections.push(`Remote options (this run only, never stored):\n${optionLines(remote, spec.optionText)}`);
  sections.push(`Global options:\n${optionLines(GLOBAL_OPTIONS)}`);
  if (spec.notes) sections.push(spec.notes);
  // a command that is also a group (`units REPO`, `units add REPO`): its actions too
  if (lines.length) sections.push(`Actions:\n${lines.join('\n')}\n\n'tributary ${name} ACTION --help' shows an action's options.`);
  return `${sections.join('\n\n')}\n`;
}

export interface CommandLine {
  readonly values: CliValues;
  readonly positionals: string[];
  /** The options the command line gave, by name, in order. */
  readonly given: readonly OptionName[];
}

/** The command line's options and positionals; a usage error when they do not parse. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  try {
    const { values, positionals, tokens } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
    const given = tokens.flatMap((t) => (t.kind === 'option' ? [t.name as OptionName] : []));
    return { values, positionals, given };
  } catch (error) {
    // name the command's own options where the command is known
    const { positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: false });
    const name = commandName(positionals);
    const known = name !== undefined && SPECS.has(name) ? name : undefined;
    const unknown = /^Unknown option '([^']*)'/.exec((error as Error).message)?.[1];
    if (unknown !== undefined) throw usage(known ? `'${known}' takes no ${unknown} option` : `unknown option '${unknown}'`, known);
    throw usage((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''), known);
  }
}

function parsedValues(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }).values;
}

export type CliValues = ReturnType<typeof parsedValues>;

/**
 * Refuses options the command does not take (`history --version 1` would otherwise be ignored):
 * a usage error naming the command's options.
 */
export function checkOptions(name: string, given: readonly OptionName[]): void {
  const spec = SPECS.get(name);
  if (!spec) return;
  const refused = given.find((option) => !GLOBAL_OPTIONS.includes(option) && !spec.options.includes(option));
  if (refused === undefined) return;
  throw usage(`'${name}' takes no --${refused} option`, name);
}

/** What a usage error adds to its message: the command's options, or the global usage. */
function usageHint(name: string | undefined): string {
  const spec = name === undefined ? undefined : SPECS.get(name);
  if (!spec) return `\n\n${USAGE}`;
  const options = spec.options.map((o) => OPTION_HELP[o][0]);
  const own = options.length ? `Its options: ${options.join(', ')}` : 'It takes no options of its own';
  return `. ${own}; and the global --home, --store, --json, --plugin ('tributary ${spec.name} --help' says more)`;
}

/** TRIBUTARY_ERR_USAGE (exit code 2); with a command, the message names that command's options. */
export function usage(message: string, command?: string): TributaryError {
  return new TributaryError(ErrorCodes.USAGE, `${message}${usageHint(command)}`);
}
