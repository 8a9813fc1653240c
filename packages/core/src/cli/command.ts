import type { RemoteOptions } from '../download/index.js';
import type { Host } from '../host/host.js';
import type { GuardedIo } from './cli-io.js';
import { usage, type CliValues } from './cli-options.js';

/** What every command receives. */
export interface CommandArgs {
  readonly host: Host;
  readonly io: GuardedIo;
  readonly json: boolean;
  /** The arguments after the command's name (`repo create NAME`: `[NAME]`). */
  readonly positionals: readonly string[];
  readonly values: CliValues;
  readonly remote: RemoteOptions;
  /** The whole command line (as run-cli got it): what `serve --workers` starts its workers with. */
  readonly argv: readonly string[];
}

/** A command: its exit code, or nothing for 0. */
export type Command = (args: CommandArgs) => Promise<number | void>;

/** Exactly `count` positionals, else a usage error naming the command's options. */
export function need(command: string, positionals: readonly string[], count: number, what: string): string[] {
  if (positionals.length < count) throw usage(`missing ${what}`, command);
  if (positionals.length > count) throw usage(`unexpected argument '${positionals[count]}'`, command);
  return positionals.slice(0, count) as string[];
}
