import type { CountsByType, UnitOrigin } from '@tributary/plugin-api';
import type { AssociateRow } from '../content-store.js';
import type { SqliteStatements } from './sqlite-statements.js';

/**
 * Versioned repository content. A row is visible in version V when
 * `version_added <= V AND (version_removed IS NULL OR version_removed > V)`; the version being
 * written is always the newest, so its changes never alter what an older version sees:
 * adding inserts a row with `version_added = V`, removing sets `version_removed = V` (or deletes a
 * row V itself added), and neither touches a row's visibility below V.
 */

/** SQL condition: the row of table alias `rc` is in the version bound at this point. */
export const VISIBLE_IN_VERSION = '(rc.version_added <= ? AND (rc.version_removed IS NULL OR rc.version_removed > ?))';

interface ContentRow {
  id: number;
  unit_id: string;
  type_id: string;
  version_added: number;
  version_removed: number | null;
  origin: UnitOrigin;
}

export function associate(
  sql: SqliteStatements,
  repoId: string,
  version: number,
  units: readonly AssociateRow[],
  origin: UnitOrigin,
): CountsByType {
  const wanted = new Map<string, string>();
  for (const unit of units) if (!wanted.has(unit.unitId)) wanted.set(unit.unitId, unit.typeId);

  const active = new Map<string, ContentRow>();
  const removedHere = new Map<string, ContentRow>();
  const rows = sql.selectIn<ContentRow>(
    [...wanted.keys()],
    (p) =>
      `SELECT id, unit_id, type_id, version_added, version_removed, origin FROM repository_content
       WHERE repo_id = ? AND (version_removed IS NULL OR version_removed = ?) AND unit_id IN (${p})`,
    [repoId, version],
  );
  for (const row of rows) (row.version_removed === null ? active : removedHere).set(row.unit_id, row);

  const seen: number[] = [];
  const promoted: number[] = [];
  const restored: number[] = [];
  const endedHere: number[] = [];
  const inserts: unknown[][] = [];
  const added: CountsByType = {};
  const keeps = (row: ContentRow) => row.origin === origin || row.origin === 'user';
  for (const [unitId, typeId] of wanted) {
    const current = active.get(unitId);
    const removed = removedHere.get(unitId);
    if (current !== undefined) {
      if (keeps(current)) seen.push(current.id);
      else if (current.version_added === version) promoted.push(current.id);
      else {
        // Becoming user-added is a change of this version: end the old row here and start a new
        // one, so readers of older versions keep the origin they had and a rollback restores it.
        endedHere.push(current.id);
        inserts.push([repoId, unitId, current.type_id, version, version, origin]);
      }
      continue;
    }
    if (removed !== undefined && keeps(removed)) restored.push(removed.id);
    else inserts.push([repoId, unitId, typeId, version, version, origin]);
    added[removed?.type_id ?? typeId] = (added[removed?.type_id ?? typeId] ?? 0) + 1;
  }

  sql.runIn(seen, (p) => `UPDATE repository_content SET seen_version = ? WHERE id IN (${p})`, [version]);
  sql.runIn(promoted, (p) => `UPDATE repository_content SET seen_version = ?, origin = 'user' WHERE id IN (${p})`, [version]);
  sql.runIn(restored, (p) => `UPDATE repository_content SET version_removed = NULL, seen_version = ? WHERE id IN (${p})`, [version]);
  sql.runIn(endedHere, (p) => `UPDATE repository_content SET version_removed = ? WHERE id IN (${p})`, [version]);
  sql.insertRows(
    inserts,
    6,
    (values) =>
      `INSERT INTO repository_content (repo_id, unit_id, type_id, version_added, seen_version, origin) VALUES ${values}`,
  );
  return added;
}

export function unassociate(sql: SqliteStatements, repoId: string, version: number, unitIds: readonly string[]): CountsByType {
  const rows = sql.selectIn<ContentRow>(
    [...new Set(unitIds)],
    (p) =>
      `SELECT id, unit_id, type_id, version_added, version_removed, origin FROM repository_content
       WHERE repo_id = ? AND version_removed IS NULL AND unit_id IN (${p})`,
    [repoId],
  );
  const removed: CountsByType = {};
  const addedHere: number[] = [];
  const older: number[] = [];
  for (const row of rows) {
    (row.version_added >= version ? addedHere : older).push(row.id);
    removed[row.type_id] = (removed[row.type_id] ?? 0) + 1;
  }
  sql.runIn(addedHere, (p) => `DELETE FROM repository_content WHERE id IN (${p})`);
  sql.runIn(older, (p) => `UPDATE repository_content SET version_removed = ? WHERE id IN (${p})`, [version]);
  return removed;
}

export function unassociateUnseen(sql: SqliteStatements, repoId: string, version: number, includeUserAdded: boolean): CountsByType {
  const where = `repo_id = ? AND version_removed IS NULL AND seen_version < ? AND version_added < ?${
    includeUserAdded ? '' : ` AND origin <> 'user'`
  }`;
  const counts = sql
    .prepare(`SELECT type_id, COUNT(*) AS n FROM repository_content WHERE ${where} GROUP BY type_id`)
    .all(repoId, version, version) as { type_id: string; n: number }[];
  sql.prepare(`UPDATE repository_content SET version_removed = ? WHERE ${where}`).run(version, repoId, version, version);
  return Object.fromEntries(counts.map((row) => [row.type_id, row.n]));
}

/**
 * Undoes every change made under `version` and any later number (none of which can be committed):
 * rows they added go, rows they removed come back, and "seen" marks fall back below `version` so a
 * retry of the same number starts from a clean slate.
 */
export function rollbackContent(sql: SqliteStatements, repoId: string, version: number): void {
  sql.prepare('DELETE FROM repository_content WHERE repo_id = ? AND version_added >= ?').run(repoId, version);
  sql
    .prepare('UPDATE repository_content SET version_removed = NULL WHERE repo_id = ? AND version_removed >= ?')
    .run(repoId, version);
  sql
    .prepare(
      'UPDATE repository_content SET seen_version = ? WHERE repo_id = ? AND version_removed IS NULL AND seen_version >= ?',
    )
    .run(version - 1, repoId, version);
}

export function countRepoUnits(sql: SqliteStatements, repoId: string, version: number): CountsByType {
  const rows = sql
    .prepare(
      `SELECT rc.type_id, COUNT(*) AS n FROM repository_content rc
       WHERE rc.repo_id = ? AND ${VISIBLE_IN_VERSION} GROUP BY rc.type_id`,
    )
    .all(repoId, version, version) as { type_id: string; n: number }[];
  return Object.fromEntries(rows.map((row) => [row.type_id, row.n]));
}
