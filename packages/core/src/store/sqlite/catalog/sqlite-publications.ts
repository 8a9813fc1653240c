import { randomUUID } from 'node:crypto';
import { ErrorCodes, TributaryError, type Digests } from '@tributary/plugin-api';
import type { PublicationEntry, PublicationInput, PublicationRecord, PublicationSummary } from '../../content-store.js';
import { lowerCaseDigests } from '../../lower-case-digests.js';
import type { SqliteStatements } from './sqlite-statements.js';

/**
 * Publications and their entries (schema migration 7). Runs inside the store's transactions.
 *
 * Entries travel as the columns of their row (see {@link encodeEntries}): the catalog binds them as
 * they are, and a flat list of strings and numbers crosses to the catalog thread far cheaper than
 * entry objects would (a publication can have a million entries).
 */

/** Columns per entry in an encoded list: path, kind, sha256, size, digests (JSON), urls (JSON), unit id. */
export const ENTRY_COLUMNS = 7;

/** One column of an encoded entry. */
export type EntryColumn = string | number | null;

/** `entries` as a flat list of {@link ENTRY_COLUMNS} columns each, as `publication_entries` stores them. */
export function encodeEntries(entries: readonly PublicationEntry[]): EntryColumn[] {
  const columns: EntryColumn[] = new Array<EntryColumn>(entries.length * ENTRY_COLUMNS);
  let at = 0;
  for (const entry of entries) {
    columns[at++] = entry.path;
    columns[at++] = entry.kind;
    columns[at++] = entry.sha256 ?? null;
    columns[at++] = entry.size ?? null;
    columns[at++] = JSON.stringify(lowerCaseDigests(entry.digests ?? {}));
    columns[at++] = JSON.stringify(entry.urls ?? []);
    columns[at++] = entry.unitId ?? null;
  }
  return columns;
}

/** The entries {@link encodeEntries} encoded (or a listing read back). */
export function decodeEntries(columns: readonly EntryColumn[]): PublicationEntry[] {
  const entries: PublicationEntry[] = [];
  for (let at = 0; at < columns.length; at += ENTRY_COLUMNS) entries.push(decodeEntry(columns, at));
  return entries;
}

function decodeEntry(columns: readonly EntryColumn[], at: number): PublicationEntry {
  return {
    path: columns[at] as string,
    kind: columns[at + 1] as PublicationEntry['kind'],
    sha256: columns[at + 2] as string | null,
    size: columns[at + 3] as number | null,
    digests: JSON.parse(columns[at + 4] as string) as Digests,
    urls: JSON.parse(columns[at + 5] as string) as string[],
    unitId: columns[at + 6] as string | null,
  };
}

/**
 * The least string above every string that starts with `prefix`, in code-point order (which is
 * the byte order of UTF-8, SQLite's BINARY collation); undefined when there is none. With it a
 * prefix is a range of the (publication, path) index instead of a LIKE, which would scan.
 */
export function prefixEnd(prefix: string): string | undefined {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      // the surrogate range is no character: after U+D7FF comes U+E000
      const next = last >= 0xd7ff && last < 0xe000 ? 0xe000 : last + 1;
      return points.join('') + String.fromCodePoint(next);
    }
  }
  return undefined;
}

const ENTRY_SELECT = 'SELECT path, kind, sha256, size, digests, urls, unit_id FROM publication_entries';

interface PublicationRow {
  seq: number;
  id: string;
  repo_id: string;
  version: number;
  publisher_key: string;
  publisher: string;
  options: string;
  created_at: string;
  completed_at: string | null;
  files: number | null;
  bytes: number | null;
  conflicts: number | null;
  info: string | null;
}

export class SqlitePublications {
  constructor(private readonly sql: SqliteStatements) {}

  /** A new, incomplete publication of an existing repository; returns its id (a random UUID). */
  create(input: PublicationInput): string {
    const repository = this.sql.prepare('SELECT 1 FROM repositories WHERE id = ?').get(input.repoId);
    if (repository === undefined) {
      throw new TributaryError(ErrorCodes.REPO_NOT_FOUND, `cannot publish: no repository with id ${input.repoId}`, {
        details: { repoId: input.repoId },
      });
    }
    const id = randomUUID();
    this.sql
      .prepare(
        `INSERT INTO publications (id, repo_id, version, publisher_key, publisher, options, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, input.repoId, input.version, input.publisherKey, input.publisher, JSON.stringify(input.options ?? {}), input.createdAt);
    return id;
  }

  /**
   * Inserts encoded entries into an incomplete publication, one prepared single-row statement per
   * entry (see {@link SqliteStatements.insertRows}); a path already there (from an earlier batch or
   * earlier in this one) is ignored by the unique index. Returns how many rows were inserted.
   */
  addEntries(publicationId: string, columns: readonly EntryColumn[]): number {
    const row = this.sql.prepare('SELECT seq, completed_at FROM publications WHERE id = ?').get(publicationId) as
      | { seq: number; completed_at: string | null }
      | undefined;
    if (row === undefined) {
      throw new TributaryError(ErrorCodes.STORE, `cannot add entries to publication ${publicationId}: there is no such publication (was it deleted?)`, {
        details: { publicationId },
      });
    }
    if (row.completed_at !== null) {
      throw new TributaryError(ErrorCodes.STORE, `cannot add entries to publication ${publicationId}: it is complete, and a complete publication never changes`, {
        details: { publicationId },
      });
    }
    if (columns.length % ENTRY_COLUMNS !== 0) {
      throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `publication entries arrived as ${columns.length} columns, not a multiple of ${ENTRY_COLUMNS}`);
    }
    const insert = this.sql.prepare(
      `INSERT OR IGNORE INTO publication_entries (publication, path, kind, sha256, size, digests, urls, unit_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    let added = 0;
    for (let at = 0; at < columns.length; at += ENTRY_COLUMNS) {
      added += insert.run(row.seq, ...columns.slice(at, at + ENTRY_COLUMNS)).changes;
    }
    return added;
  }

  /** Makes the publication visible with its summary; completing it again changes nothing. */
  complete(publicationId: string, summary: PublicationSummary): void {
    const changed = this.sql
      .prepare(
        `UPDATE publications SET completed_at = ?, files = ?, bytes = ?, conflicts = ?, info = ?
         WHERE id = ? AND completed_at IS NULL`,
      )
      .run(summary.completedAt, summary.files, summary.bytes, summary.conflicts, JSON.stringify(summary.info ?? {}), publicationId).changes;
    if (changed === 0 && this.sql.prepare('SELECT 1 FROM publications WHERE id = ?').get(publicationId) === undefined) {
      throw new TributaryError(ErrorCodes.STORE, `cannot complete publication ${publicationId}: there is no such publication (was it deleted?)`, {
        details: { publicationId },
      });
    }
  }

  /** Entries first, then the publication. */
  delete(publicationId: string): void {
    this.sql.prepare('DELETE FROM publication_entries WHERE publication = (SELECT seq FROM publications WHERE id = ?)').run(publicationId);
    this.sql.prepare('DELETE FROM publications WHERE id = ?').run(publicationId);
  }

  /** Every publication of a repository and their entries (the repository is being deleted). */
  deleteOfRepository(repoId: string): void {
    this.sql.prepare('DELETE FROM publication_entries WHERE publication IN (SELECT seq FROM publications WHERE repo_id = ?)').run(repoId);
    this.sql.prepare('DELETE FROM publications WHERE repo_id = ?').run(repoId);
  }

  /**
   * The complete publication of the highest version at most (or exactly) `maxVersion`; of several,
   * the one completed last (then created last).
   */
  find(repoId: string, publisherKey: string, maxVersion: number, exact: boolean): PublicationRecord | undefined {
    const row = this.sql
      .prepare(
        `SELECT * FROM publications
         WHERE repo_id = ? AND publisher_key = ? AND version ${exact ? '=' : '<='} ? AND completed_at IS NOT NULL
         ORDER BY version DESC, completed_at DESC, seq DESC LIMIT 1`,
      )
      .get(repoId, publisherKey, maxVersion) as PublicationRow | undefined;
    return row && toRecord(row);
  }

  /** Newest first: highest version first, then the one created last. */
  list(repoId: string): PublicationRecord[] {
    const rows = this.sql
      .prepare('SELECT * FROM publications WHERE repo_id = ? ORDER BY version DESC, created_at DESC, seq DESC')
      .all(repoId) as PublicationRow[];
    return rows.map(toRecord);
  }

  /** One entry's columns, by the (publication, path) index; undefined when there is none. */
  entry(publicationId: string, path: string): EntryColumn[] | undefined {
    return this.sql
      .prepare(`${ENTRY_SELECT} WHERE publication = (SELECT seq FROM publications WHERE id = ?) AND path = ?`, true)
      .get(publicationId, path) as EntryColumn[] | undefined;
  }

  /** Entries' columns in path order, one range of the (publication, path) index. */
  entries(publicationId: string, options: { prefix?: string; after?: string; limit: number }): EntryColumn[] {
    const limit = Math.floor(options.limit);
    if (!(limit > 0)) return [];
    const conditions = ['publication = (SELECT seq FROM publications WHERE id = ?)'];
    const values: unknown[] = [publicationId];
    if (options.prefix !== undefined && options.prefix !== '') {
      conditions.push('path >= ?');
      values.push(options.prefix);
      const end = prefixEnd(options.prefix);
      if (end !== undefined) {
        conditions.push('path < ?');
        values.push(end);
      }
    }
    if (options.after !== undefined) {
      conditions.push('path > ?');
      values.push(options.after);
    }
    const rows = this.sql
      .prepare(`${ENTRY_SELECT} WHERE ${conditions.join(' AND ')} ORDER BY path LIMIT ?`, true)
      .all(...values, limit) as EntryColumn[][];
    return rows.flat();
  }
}

function toRecord(row: PublicationRow): PublicationRecord {
  const complete = row.completed_at !== null;
  return {
    id: row.id,
    repoId: row.repo_id,
    version: row.version,
    publisherKey: row.publisher_key,
    publisher: row.publisher,
    options: JSON.parse(row.options) as Record<string, unknown>,
    createdAt: row.created_at,
    complete,
    summary: complete
      ? {
          files: row.files ?? 0,
          bytes: row.bytes ?? 0,
          conflicts: row.conflicts ?? 0,
          info: row.info === null ? {} : (JSON.parse(row.info) as Record<string, unknown>),
          completedAt: row.completed_at!,
        }
      : null,
  };
}
