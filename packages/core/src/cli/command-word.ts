/** The global options that take a value (cli-options.ts): their values are not the command. */
const VALUED_GLOBALS: ReadonlySet<string> = new Set(['--home', '--store', '--plugin']);

/**
 * The command's first word (`sync`, `repo`, ...): the first argument that is neither an option nor
 * a global option's value. For what must be decided before the command line is parsed.
 */
export function commandWord(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (VALUED_GLOBALS.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/** The value of `--store` (`--store URI` or `--store=URI`), if given. */
export function storeOption(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--store') return args[i + 1];
    if (arg.startsWith('--store=')) return arg.slice('--store='.length);
  }
  return undefined;
}
