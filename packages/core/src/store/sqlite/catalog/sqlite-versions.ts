import { ErrorCodes, TributaryError, type CountsByType } from '@tributary/plugin-api';
import type { CopyCounts, UnitRef, VersionChange, VersionChangeCounts, VersionKind, VersionRecord, VersionRecordInput } from '../../content-store.js';
import { unknownUnitsError } from '../../unknown-units-error.js';
import { STILL_PRESENT } from './sqlite-schema.js';
import type { SqliteRepositories } from './sqlite-repositories.js';
import type { SqliteStatements } from './sqlite-statements.js';

interface VersionRow {
  repo_id: string;
  version: number;
  created_at: string;
  kind: string;
  sync_id: string | null;
  note: string | null;
  counts: string;
  base: number | null;
  added: string;
  removed: string;
  deleted_at: string | null;
}

/** Where a page of a version diff starts: the kind of change, then the (version, row) after which. */
export interface DiffCursor {
  readonly change: 'added' | 'removed';
  readonly at: number;
  readonly row: number;
}

/** One page of {@link SqliteVersions.diffPage} and where the next starts (none after the last). */
export interface DiffPage {
  readonly items: VersionChange[];
  readonly next: DiffCursor | undefined;
}

/**
 * What one side of a diff reads: the content rows visible in version `a` whose unit no row of
 * version `b` shows. Such a row starts or ends between the two versions, so it is found by one of
 * the version indexes rather than by reading the whole repository: a row visible in `a` but not
 * `b > a` ends in (a, b]; one visible in `a` but not `b < a` starts in (b, a]. `column` is the
 * version the candidates are ordered (and paged) by, with the row id.
 */
function side(a: number, b: number): { column: string; where: string; params: number[] } {
  const visible = `rc.version_added <= ? AND rc.version_removed > ?`;
  return a > b
    ? { column: 'rc.version_added', where: `rc.version_added > ? AND ${visible}`, params: [b, a, a] }
    : // the literal lets SQLite use the partial index of removed rows
      { column: 'rc.version_removed', where: `rc.version_removed <= ? AND rc.version_removed <> ${STILL_PRESENT} AND ${visible}`, params: [b, a, a] };
}

/** SQL condition: no row of version ? (bound twice) shows the unit of row `rc`: a seek of the content key. */
const NOT_IN_OTHER = `NOT EXISTS (SELECT 1 FROM repository_content o
  WHERE o.repo = rc.repo AND o.type_id = rc.type_id AND o.unit = rc.unit AND o.version_removed > ? AND o.version_added <= ?)`;

/**
 * The history of a repository's versions (schema migration 8): records of what made each, deletion
 * marks, diffs, and the bulk writes that build a version out of committed ones. Runs inside the
 * store's transactions; content rows are keyed as in sqlite-repository-content.ts.
 */
export class SqliteVersions {
  constructor(
    private readonly sql: SqliteStatements,
    private readonly repositories: SqliteRepositories,
  ) {}

  record(input: VersionRecordInput): void {
    this.repositories.row(input.repoId);
    this.sql
      .prepare(
        `INSERT INTO repository_versions (repo_id, version, created_at, kind, sync_id, note, counts, base, added, removed)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (repo_id, version) DO UPDATE SET created_at = excluded.created_at, kind = excluded.kind, sync_id = excluded.sync_id,
           note = excluded.note, counts = excluded.counts, base = excluded.base, added = excluded.added, removed = excluded.removed`,
      )
      .run(
        input.repoId,
        input.version,
        input.createdAt,
        input.kind,
        input.syncId,
        input.note,
        JSON.stringify(input.counts),
        input.base,
        JSON.stringify(input.added),
        JSON.stringify(input.removed),
      );
  }

  list(repoId: string): VersionRecord[] {
    return (this.sql.prepare('SELECT * FROM repository_versions WHERE repo_id = ? ORDER BY version').all(repoId) as VersionRow[]).map(toRecord);
  }

  get(repoId: string, version: number): VersionRecord | undefined {
    const row = this.sql.prepare('SELECT * FROM repository_versions WHERE repo_id = ? AND version = ?').get(repoId, version) as VersionRow | undefined;
    return row && toRecord(row);
  }

  /**
   * Marks `version` deleted, drops its publications and deletes the content rows no remaining
   * version shows. Only rows whose range holds `version` can have just lost their last visible
   * version; those whose whole range lies in the run of deleted versions around it go, in one
   * statement over the version index.
   */
  delete(repoId: string, version: number): { rows: number } {
    const repository = this.repositories.row(repoId);
    const deleted = new Set(
      (this.sql.prepare('SELECT version FROM repository_versions WHERE repo_id = ? AND deleted_at IS NOT NULL', true).all(repoId) as [number][]).map(([v]) => v),
    );
    if (!Number.isSafeInteger(version) || version < 0 || version > repository.latest_version || deleted.has(version)) {
      throw new TributaryError(
        ErrorCodes.VERSION_NOT_FOUND,
        `repository '${repository.name}' has no version ${version}${deleted.has(version) ? ' (it was deleted)' : ` (its latest is ${repository.latest_version})`}`,
        { details: { repository: repository.name, version } },
      );
    }
    if (version === repository.latest_version) {
      throw new TributaryError(ErrorCodes.VERSION_IN_USE, `version ${version} is the latest of repository '${repository.name}' and cannot be deleted`, {
        details: { repository: repository.name, version, reason: 'latest' },
      });
    }
    const pinned = this.sql.prepare('SELECT name FROM distributions WHERE repo_id = ? AND version = ? ORDER BY name').all(repoId, version) as { name: string }[];
    if (pinned.length > 0) {
      const names = pinned.map((d) => d.name);
      throw new TributaryError(
        ErrorCodes.VERSION_IN_USE,
        `version ${version} of repository '${repository.name}' is served by distribution${names.length > 1 ? 's' : ''} ${names.map((n) => `'${n}'`).join(', ')}; point ${names.length > 1 ? 'them' : 'it'} at another version first`,
        { details: { repository: repository.name, version, reason: 'distribution', distributions: names } },
      );
    }
    this.sql
      .prepare(
        `INSERT INTO repository_versions (repo_id, version, created_at, kind, counts, added, removed, deleted_at)
         VALUES (?, ?, ?, 'unknown', '{}', '{}', '{}', ?)
         ON CONFLICT (repo_id, version) DO UPDATE SET deleted_at = excluded.deleted_at`,
      )
      .run(repoId, version, new Date(0).toISOString(), new Date().toISOString());
    this.sql.prepare('DELETE FROM publication_entries WHERE publication IN (SELECT seq FROM publications WHERE repo_id = ? AND version = ?)').run(repoId, version);
    this.sql.prepare('DELETE FROM publications WHERE repo_id = ? AND version = ?').run(repoId, version);
    deleted.add(version);
    let low = version;
    while (deleted.has(low - 1)) low--;
    let high = version;
    while (deleted.has(high + 1)) high++;
    const rows = this.sql
      .prepare(
        `DELETE FROM repository_content
         WHERE repo = ? AND version_added >= ? AND version_added <= ? AND version_removed > ? AND version_removed <= ?`,
      )
      .run(repository.seq, low, version, version, high + 1).changes;
    return { rows };
  }

  /** One page of the diff from `from` to `to`: the added changes, then the removed ones. */
  diffPage(repoId: string, from: number, to: number, after: DiffCursor | undefined, limit: number): DiffPage {
    const seq = this.repositories.row(repoId).seq;
    let cursor = after ?? { change: 'added' as const, at: -1, row: 0 };
    for (;;) {
      const [a, b] = cursor.change === 'added' ? [to, from] : [from, to];
      const rows = a === b ? [] : this.sidePage(seq, a, b, cursor, limit);
      const changes = rows.map(([, , typeId, unitId, key]) => ({ change: cursor.change, unitId, typeId, key: JSON.parse(key) }));
      if (rows.length === limit) {
        const [row, at] = rows[rows.length - 1]!;
        return { items: changes, next: { change: cursor.change, at, row } };
      }
      if (cursor.change === 'removed') return { items: changes, next: undefined };
      if (changes.length > 0) return { items: changes, next: { change: 'removed', at: -1, row: 0 } };
      cursor = { change: 'removed', at: -1, row: 0 };
    }
  }

  private sidePage(seq: number, a: number, b: number, after: DiffCursor, limit: number): [row: number, at: number, typeId: string, unitId: string, key: string][] {
    const { column, where, params } = side(a, b);
    return this.sql
      .prepare(
        `SELECT rc.id, ${column}, rc.type_id, u.unit_id, u.key
         FROM repository_content rc JOIN units u ON u.id = rc.unit
         WHERE rc.repo = ? AND ${where} AND (${column}, rc.id) > (?, ?) AND ${NOT_IN_OTHER}
         ORDER BY ${column}, rc.id LIMIT ?`,
        true,
      )
      .all(seq, ...params, after.at, after.row, b, b, limit) as [number, number, string, string, string][];
  }

  countChanges(repoId: string, from: number, to: number): VersionChangeCounts {
    const seq = this.repositories.row(repoId).seq;
    return { added: this.countSide(seq, to, from), removed: this.countSide(seq, from, to) };
  }

  /** Units of version `a` that version `b` does not hold, by type. */
  private countSide(seq: number, a: number, b: number): CountsByType {
    if (a === b) return {};
    const { where, params } = side(a, b);
    const rows = this.sql
      .prepare(`SELECT rc.type_id, COUNT(*) FROM repository_content rc WHERE rc.repo = ? AND ${where} AND ${NOT_IN_OTHER} GROUP BY rc.type_id`, true)
      .all(seq, ...params, b, b) as [string, number][];
    return Object.fromEntries(rows);
  }

  /**
   * Makes the version being written hold what committed `from` holds, each unit in the revision and
   * origin `from`'s row shows: three statements. Rows of the version being written that `from`
   * does not hold identically go (those it added) or end here (older ones); then `from`'s rows
   * whose unit has no present row left start here, with the same pin, origin and provenance.
   */
  restore(repoId: string, version: number, from: number): VersionChangeCounts {
    const { seq, generation } = this.repositories.writableVersion(repoId, version);
    const latest = version - 1;
    if (!Number.isSafeInteger(from) || from < 0 || from > latest) {
      throw new TributaryError(ErrorCodes.VERSION_NOT_FOUND, `repository ${repoId} has no committed version ${from}`, { details: { repoId, version: from } });
    }
    const sameInFrom = `EXISTS (SELECT 1 FROM repository_content n
      WHERE n.repo = repository_content.repo AND n.type_id = repository_content.type_id AND n.unit = repository_content.unit
        AND n.version_removed > ? AND n.version_added <= ?
        AND n.unit_rev = repository_content.unit_rev AND n.origin = repository_content.origin)`;
    this.sql.prepare(`DELETE FROM repository_content WHERE repo = ? AND version_added = ? AND NOT ${sameInFrom}`).run(seq, version, from, from);
    this.sql
      .prepare(`UPDATE repository_content SET version_removed = ? WHERE repo = ? AND version_removed = ${STILL_PRESENT} AND version_added < ? AND NOT ${sameInFrom}`)
      .run(version, seq, version, from, from);
    this.sql
      .prepare(
        `INSERT INTO repository_content
           (repo, type_id, unit, version_removed, version_added, seen_generation, origin, unit_rev, source_a, source_b, source_c, source_rev)
         SELECT n.repo, n.type_id, n.unit, ${STILL_PRESENT}, ?, ?, n.origin, n.unit_rev, n.source_a, n.source_b, n.source_c, n.source_rev
         FROM repository_content n
         WHERE n.repo = ? AND n.version_removed > ? AND n.version_added <= ?
           AND NOT EXISTS (SELECT 1 FROM repository_content p
             WHERE p.repo = n.repo AND p.type_id = n.type_id AND p.unit = n.unit AND p.version_removed = ${STILL_PRESENT})`,
      )
      .run(version, generation, seq, from, from);
    return this.countChanges(repoId, latest, version);
  }

  /**
   * Adds `units` to the version being written as the source version shows them (see the port).
   * Per type: one read of the source rows, one of the present rows, then the writes.
   */
  copy(repoId: string, version: number, source: { repoId: string; version: number }, units: readonly UnitRef[]): CopyCounts {
    const { seq, generation } = this.repositories.writableVersion(repoId, version);
    const sourceSeq = this.repositories.row(source.repoId).seq;
    const byType = new Map<string, string[]>();
    for (const { unitId, typeId } of units) {
      let ids = byType.get(typeId);
      if (ids === undefined) byType.set(typeId, (ids = []));
      ids.push(unitId);
    }
    const added: CountsByType = {};
    const replaced: CountsByType = {};
    const insert = this.sql.prepare(
      `INSERT INTO repository_content (repo, type_id, unit, version_removed, version_added, seen_generation, origin, unit_rev)
       VALUES (?, ?, ?, ${STILL_PRESENT}, ?, ?, 'user', ?)`,
    );
    for (const [typeId, unitIds] of byType) {
      const rows = this.sql.selectArraysIn<[unit: number, unitId: string]>([...new Set(unitIds)], (p) => `SELECT id, unit_id FROM units WHERE unit_id IN (${p})`);
      if (rows.length < new Set(unitIds).size) {
        const known = new Set(rows.map(([, unitId]) => unitId));
        throw unknownUnitsError(unitIds.filter((unitId) => !known.has(unitId)));
      }
      const unitRows = rows.map(([unit]) => unit);
      const shown = new Map(
        this.sql.selectArraysIn<[unit: number, rev: number]>(
          unitRows,
          // `+version_added` keeps the planner on the content key: by the (repo, version_added) index each
          // chunk of units would scan every row of the repository
          (p) => `SELECT unit, unit_rev FROM repository_content WHERE repo = ? AND type_id = ? AND unit IN (${p}) AND version_removed > ? AND +version_added <= ?`,
          [sourceSeq, typeId],
          [source.version, source.version],
        ),
      );
      const present = new Map(
        this.sql
          .selectArraysIn<[unit: number, id: number, rev: number, added: number]>(
            [...shown.keys()],
            (p) => `SELECT unit, id, unit_rev, version_added FROM repository_content WHERE repo = ? AND type_id = ? AND unit IN (${p}) AND version_removed = ${STILL_PRESENT}`,
            [seq, typeId],
          )
          .map(([unit, id, rev, addedIn]) => [unit, { id, rev, addedIn }] as const),
      );
      for (const [unit, rev] of shown) {
        const row = present.get(unit);
        if (row !== undefined && row.rev === rev) continue;
        if (row === undefined) added[typeId] = (added[typeId] ?? 0) + 1;
        else {
          replaced[typeId] = (replaced[typeId] ?? 0) + 1;
          // a row this version added is repinned in place; an older one ends here
          if (row.addedIn === version) {
            this.sql.prepare(`UPDATE repository_content SET unit_rev = ?, origin = 'user' WHERE id = ?`).run(rev, row.id);
            continue;
          }
          this.sql.prepare('UPDATE repository_content SET version_removed = ? WHERE id = ?').run(version, row.id);
        }
        insert.run(seq, typeId, unit, version, generation, rev);
      }
    }
    return { added, replaced };
  }
}

function toRecord(row: VersionRow): VersionRecord {
  return {
    repoId: row.repo_id,
    version: row.version,
    createdAt: row.created_at,
    kind: row.kind as VersionKind,
    syncId: row.sync_id,
    note: row.note,
    counts: JSON.parse(row.counts),
    base: row.base,
    added: JSON.parse(row.added),
    removed: JSON.parse(row.removed),
    deletedAt: row.deleted_at,
  };
}
