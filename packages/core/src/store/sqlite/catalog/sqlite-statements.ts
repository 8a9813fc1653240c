import type { Database, Statement } from 'better-sqlite3';

/**
 * Bound parameters per statement. SQLite allows 32766 in the bundled build; staying far below it
 * keeps statements small and works with builds that keep the old limit of 999.
 */
export const MAX_PARAMETERS = 900;

/**
 * Prepared statements of one connection, cached by SQL text. Multi-row statements differ by row
 * count, so the cache is bounded: past the bound it starts over, which only costs re-preparing.
 */
export class SqliteStatements {
  private readonly cache = new Map<string, Statement>();

  constructor(
    readonly db: Database,
    private readonly capacity = 256,
  ) {}

  /** The prepared statement for `sql`; with `arrays`, one that returns each row as an array of its columns. */
  prepare(sql: string, arrays = false): Statement {
    const key = arrays ? `${sql}\0arrays` : sql;
    let statement = this.cache.get(key);
    if (statement === undefined) {
      if (this.cache.size >= this.capacity) this.cache.clear();
      statement = this.db.prepare(sql);
      if (arrays) statement.raw(true);
      this.cache.set(key, statement);
    }
    return statement;
  }

  /**
   * Runs `sql(placeholders)` once per chunk of `values`, where `placeholders` is `?, ?, …` for an
   * IN-list, binding `leading`, the chunk, then `trailing`; returns every row. Chunks are padded to a few fixed sizes (repeating the last
   * value, harmless in an IN-list) so only a handful of distinct statements is ever prepared.
   */
  selectIn<R>(
    values: readonly unknown[],
    sql: (placeholders: string) => string,
    leading: readonly unknown[] = [],
    trailing: readonly unknown[] = [],
  ): R[] {
    return this.allIn<R>(values, sql, leading, trailing, false);
  }

  /**
   * Like {@link selectIn}, each row an array of its columns in the statement's order: no object
   * with named properties per row, which costs a hot look-up (a forced re-sync reads every unit
   * back) about a fifth of its time. Also for an `UPDATE … RETURNING`.
   */
  selectArraysIn<R extends unknown[]>(
    values: readonly unknown[],
    sql: (placeholders: string) => string,
    leading: readonly unknown[] = [],
    trailing: readonly unknown[] = [],
  ): R[] {
    return this.allIn<R>(values, sql, leading, trailing, true);
  }

  /** Like {@link selectIn} for a statement that changes rows; returns the number changed. */
  runIn(
    values: readonly unknown[],
    sql: (placeholders: string) => string,
    leading: readonly unknown[] = [],
    trailing: readonly unknown[] = [],
  ): number {
    let changes = 0;
    for (const [text, chunk] of chunksIn(values, sql, leading, trailing)) {
      changes += this.prepare(text).run(...leading, ...chunk, ...trailing).changes;
    }
    return changes;
  }

  private allIn<R>(values: readonly unknown[], sql: (placeholders: string) => string, leading: readonly unknown[], trailing: readonly unknown[], arrays: boolean): R[] {
    const rows: R[] = [];
    for (const [text, chunk] of chunksIn(values, sql, leading, trailing)) {
      for (const row of this.prepare(text, arrays).all(...leading, ...chunk, ...trailing) as R[]) rows.push(row);
    }
    return rows;
  }

  /**
   * Inserts `rows` (each an array of `columns` values) with one prepared single-row statement,
   * `sql('(?, ?, …)')`, run once per row inside the caller's transaction. Measured here, that is
   * about 30% faster than multi-row VALUES lists: binding hundreds of parameters per call costs more
   * than the per-statement overhead it saves.
   */
  insertRows(rows: readonly (readonly unknown[])[], columns: number, sql: (values: string) => string): void {
    if (rows.length === 0) return;
    const statement = this.prepare(sql(`(${placeholders(columns)})`));
    for (const row of rows) statement.run(...row);
  }
}

/** `values` in padded chunks, each with its statement's text (see {@link SqliteStatements.selectIn}). */
function* chunksIn(
  values: readonly unknown[],
  sql: (placeholders: string) => string,
  leading: readonly unknown[],
  trailing: readonly unknown[],
): Generator<[text: string, chunk: unknown[]]> {
  const size = evenChunk(values.length, MAX_PARAMETERS - leading.length - trailing.length);
  for (let start = 0; start < values.length; start += size) {
    const chunk = padToBucket(values.slice(start, start + size), size);
    yield [sql(placeholders(chunk.length)), chunk];
  }
}

export function placeholders(count: number): string {
  return new Array<string>(count).fill('?').join(', ');
}

// 512: a batch of 1,000 goes as two chunks of 500 (see evenChunk), and padding a chunk of 500 to
// the 900 maximum made each look-up ~20% dearer than padding it to 512 (measured on a 200k catalog).
const BUCKETS = [1, 8, 64, 256, 512];

/** Chunk size that splits `count` values evenly into as few chunks of at most `max` as possible. */
function evenChunk(count: number, max: number): number {
  return count <= max ? max : Math.ceil(count / Math.ceil(count / max));
}

function padToBucket<T>(chunk: readonly T[], max: number): T[] {
  const target = BUCKETS.find((bucket) => bucket >= chunk.length && bucket <= max) ?? max;
  const padded = chunk.slice();
  while (padded.length < target) padded.push(chunk[chunk.length - 1]!);
  return padded;
}
