import { once } from 'node:events';
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

const serve: Command = async ({ host, io, json, positionals, values, remote }) => {
  need('serve', positionals, 0, '');
  const listen = parseListen(values.listen ?? DEFAULT_LISTEN);
  // fastify is loaded by the one command that serves, not by every command's start-up
  const { createContentApp } = require('../serve/content-app.js') as typeof import('../serve/content-app.js');
  const accessLog = new LineBuffer((text) => io.stdout.write(text));
  const app = createContentApp(host, {
    remote,
    log: {
      access: (record: AccessRecord) => accessLog.add(json ? `${JSON.stringify({ type: 'access', ...record })}\n` : `${record.time} ${record.remote} ${record.method} ${record.path} ${record.status} ${record.bytes ?? '-'} ${record.ms}ms${record.served ? ` ${record.served}` : ''}${record.incomplete ? ' incomplete' : ''}\n`),
      event: (level, fields, message) => io.stderr.write(json ? `${JSON.stringify({ type: 'event', level, message, ...fields, time: new Date().toISOString() })}\n` : `${level}: ${message} ${JSON.stringify(fields)}\n`),
    },
  });
  const address = await app.server.listen({ host: listen.host, port: listen.port });
  const count = (await host.distributions.list()).length;
  if (json) io.stderr.write(`${JSON.stringify({ type: 'listening', url: `${address}/content/`, distributions: count })}\n`);
  else io.stderr.write(`serving ${address}/content/ (${plural(count, 'distribution')}); stop with Ctrl-C or SIGTERM\n`);
  if (io.signal && !io.signal.aborted) await once(io.signal, 'abort');
  io.stderr.write(json ? `${JSON.stringify({ type: 'stopping' })}\n` : 'stopping: finishing the requests in flight\n');
  await app.close();
  accessLog.flush();
};

/**
 * Lines gathered and written together once the current burst of work is done (or 64 KiB
 * gathered): a write to stdout per request cost the content app a twentieth of its time.
 */
class LineBuffer {
  private text = '';
  private scheduled = false;

  constructor(private readonly write: (text: string) => void) {}

  add(line: string): void {
    this.text += line;
    if (this.text.length >= 64 * 1024) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.text.length === 0) return;
    const text = this.text;
    this.text = '';
    this.write(text);
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
