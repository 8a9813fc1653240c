import { isTributaryError, rootTributaryError } from '@tributary/plugin-api';

/** A stream the CLI writes to: process.stdout, or an in-memory sink in tests. */
export interface CliSink {
  /** False when the stream wants the writer to wait for 'drain' (as a Writable's write does). */
  write(text: string): unknown;
  readonly isTTY?: boolean;
  /** A terminal's width. */
  readonly columns?: number;
  /** A Writable's events: 'error' (EPIPE once the reader is gone) and 'drain'. */
  on?(event: 'error', listener: (error: Error) => void): unknown;
  once?(event: 'drain' | 'close', listener: () => void): unknown;
  removeListener?(event: 'drain' | 'close', listener: () => void): unknown;
  readonly destroyed?: boolean;
}

/** Where the CLI writes; tests pass in-memory sinks. */
export interface CliIo {
  readonly stdout: CliSink;
  readonly stderr: CliSink;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Aborts a running sync (Ctrl-C). */
  readonly signal?: AbortSignal;
  /**
   * Seconds between a sync's progress lines when stderr is not a terminal (the `tributary` process:
   * 5). Left out, an embedding caller gets none unless TRIBUTARY_PROGRESS_SECONDS asks.
   */
  readonly progressSeconds?: number;
}

/**
 * A sink whose reader may go away: `tributary units R | head -2`. Once a write fails with EPIPE
 * (or any other error: there is nobody to tell) the output is `closed`, later writes are dropped
 * and the command stops producing output, as git or ls do, instead of an unhandled 'error' event
 * ending the process with a stack trace.
 */
export class GuardedSink implements CliSink {
  private broken = false;
  private readonly closedListeners = new Set<() => void>();

  constructor(private readonly raw: CliSink) {
    raw.on?.('error', () => this.markClosed());
  }

  get isTTY(): boolean {
    return Boolean(this.raw.isTTY);
  }

  get columns(): number | undefined {
    return this.raw.columns;
  }

  /** True once the reader went away. */
  get closed(): boolean {
    return this.broken || this.raw.destroyed === true;
  }

  /** Writes `text`; resolves at once unless the stream asks to wait for 'drain' (back-pressure). */
  write(text: string): boolean {
    if (this.closed) return true;
    try {
      return this.raw.write(text) !== false;
    } catch {
      // a sink that throws (a closed fd written synchronously) is as gone as one that emits 'error'
      this.markClosed();
      return true;
    }
  }

  /** Writes `text` and waits while the stream's buffer is full, or until the reader is gone. */
  async writeAndDrain(text: string): Promise<void> {
    if (this.write(text) || this.closed || !this.raw.once) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.raw.removeListener?.('drain', done);
        this.closedListeners.delete(done);
        resolve();
      };
      this.raw.once!('drain', done);
      this.closedListeners.add(done);
    });
  }

  /** Calls `listener` once the reader is gone (at once when it already is). */
  onClosed(listener: () => void): () => void {
    if (this.closed) {
      listener();
      return () => undefined;
    }
    this.closedListeners.add(listener);
    return () => this.closedListeners.delete(listener);
  }

  private markClosed(): void {
    if (this.broken) return;
    this.broken = true;
    for (const listener of [...this.closedListeners]) listener();
    this.closedListeners.clear();
  }
}

/** The CLI's io with guarded sinks. */
export interface GuardedIo extends CliIo {
  readonly stdout: GuardedSink;
  readonly stderr: GuardedSink;
}

export function guardIo(io: CliIo): GuardedIo {
  return {
    ...io,
    stdout: io.stdout instanceof GuardedSink ? io.stdout : new GuardedSink(io.stdout),
    stderr: io.stderr instanceof GuardedSink ? io.stderr : new GuardedSink(io.stderr),
  };
}

/**
 * Output written in large chunks, waiting for 'drain' when the reader is slower: a listing of
 * 200,000 units makes a few hundred writes, not 200,000, and never buffers more than a chunk
 * beyond what the stream holds.
 */
export class ChunkedWriter {
  private buffer = '';

  constructor(
    private readonly sink: GuardedSink,
    private readonly chunkChars = 64 * 1024,
  ) {}

  get closed(): boolean {
    return this.sink.closed;
  }

  /** Adds `text`; flushes (and waits for the stream, if it is full) once a chunk is gathered. */
  push(text: string): Promise<void> | undefined {
    this.buffer += text;
    return this.buffer.length >= this.chunkChars ? this.flush() : undefined;
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const text = this.buffer;
    this.buffer = '';
    await this.sink.writeAndDrain(text);
  }
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value)}\n`);
}

export function printTable(io: CliIo, headers: readonly string[], rows: readonly (readonly unknown[])[]): void {
  const cells = rows.map((row) => row.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: readonly string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  io.stdout.write([line(headers), ...cells.map(line)].map((l) => `${l}\n`).join(''));
}

/**
 * `1,234,567`: an integer with thousands separators. Not `toLocaleString`, whose first call loads
 * ICU's number formatter: a start-up cost at the end of every command that prints a count.
 */
export function formatCount(n: number): string {
  const digits = String(n);
  return Number.isSafeInteger(n) ? digits.replace(/\B(?=(\d{3})+$)/g, ',') : digits;
}

/** `1 file`, `2 files`, `0 files`. */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${formatCount(count)} ${count === 1 ? noun : nouns}`;
}

/** Counts by content type in words: `5 file units`, `3 rpm.package units, 1 rpm.advisory unit`; `none` when empty. */
export function unitCounts(counts: Readonly<Record<string, number>>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([type, n]) => `${formatCount(n)} ${type} ${n === 1 ? 'unit' : 'units'}`);
  return parts.join(', ') || 'none';
}

/** One line, at most `max` characters: `…` marks what was cut. */
export function shorten(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1).trimEnd()}…`;
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
