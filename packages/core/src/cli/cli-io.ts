import { isTributaryError, rootTributaryError } from '@tributary/plugin-api';

/** Where the CLI writes; tests pass in-memory sinks. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown; isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Aborts a running sync (Ctrl-C). */
  readonly signal?: AbortSignal;
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value)}\n`);
}

export function printTable(io: CliIo, headers: readonly string[], rows: readonly (readonly unknown[])[]): void {
  const cells = rows.map((row) => row.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: readonly string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  io.stdout.write(`${line(headers)}\n`);
  for (const row of cells) io.stdout.write(`${line(row)}\n`);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** Prints an error for a person (or as JSON) and returns the exit code. */
export function reportError(io: CliIo, error: unknown, json: boolean): number {
  const typed = isTributaryError(error) ? error : undefined;
  const root = rootTributaryError(error);
  if (json) {
    io.stderr.write(
      `${JSON.stringify({
        error: typed ? typed.toJSON() : { message: String((error as Error)?.message ?? error) },
        ...(root && root !== typed ? { cause: root.toJSON() } : {}),
      })}\n`,
    );
  } else if (typed) {
    io.stderr.write(`error ${typed.code}: ${typed.message}\n`);
  } else {
    io.stderr.write(`error: ${(error as Error)?.stack ?? String(error)}\n`);
  }
  return typed?.code === 'TRIBUTARY_ERR_USAGE' ? 2 : 1;
}
