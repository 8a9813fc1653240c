import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';

export const USAGE = `Usage: tributary [--home DIR] [--store URI] [--json] [--plugin PKG_OR_PATH]... COMMAND

Commands:
  repo create NAME [--importer NAME] [--url URL] [--config JSON] [--description TEXT]
  repo list
  repo show NAME
  repo delete NAME
  sync REPO --importer NAME --url URL [--policy immediate|on_demand] [--mirror] [--force] [--create]
            [--config JSON] [--ca PEM] [--client-cert PEM --client-key PEM] [--no-tls-verify]
            [--proxy URL] [--header 'Name: value']... [--username U --password-env VAR]
            [--concurrency N] [--idle-timeout SECONDS]
  units REPO [--type TYPE] [--version N]
  history REPO [--limit N]
  export REPO DIR [--no-fetch]
  orphans cleanup
  plugins list

Global options:
  --home DIR      where the catalog and storage live (default $TRIBUTARY_HOME, else ./.tributary)
  --store URI     catalog: a SQLite file path (default <home>/catalog.db) or mongodb://…
  --json          machine-readable output (units: one JSON object per line)
  --plugin P      load a third-party importer (package name or path); 'file' and 'rpm' are bundled
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
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies ParseArgsConfig['options'];

/** The command line's options and positionals; a usage error when they do not parse. */
export function parseCommandLine(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw usage((error as Error).message);
  }
}

export type CliValues = ReturnType<typeof parseCommandLine>['values'];

export function usage(message: string): TributaryError {
  return new TributaryError(ErrorCodes.USAGE, `${message}\n\n${USAGE}`);
}

