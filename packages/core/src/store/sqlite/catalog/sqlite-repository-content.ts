import type { CountsByType, UnitOrigin } from '@tributary/plugin-api';
import type { AssociateRow } from '../../content-store.js';
import { unknownUnitsError } from '../../unknown-units-error.js';
import type { SourceDigest } from '../../unit-fingerprint.js';
import { STILL_PRESENT } from './sqlite-schema.js';
import type { SqliteStatements } from './sqlite-statements.js';
import { ABSENT, type KnownUnitRows } from './known-unit-rows.js';

/**
 * Versioned repository content, keyed by the repository's number (`repositories.seq`) and the
 * unit's row (`units.id`). A row is visible in version V when
 * `version_added <= V AND version_removed > V` (a present row has `version_removed = STILL_PRESENT`).
 * The version being written is always the newest, so its changes never alter what an older version
 * sees: adding inserts a row with `version_added = V`, removing sets `version_removed = V` (or
 * deletes a row V itself added), and neither touches a row's visibility below V.
 *
 * A committed version never changes: each row pins the unit revision it shows (`unit_rev`, schema
 * migration 5); `associate` moves a present unit to its current revision by ending its row and
 * starting a new one, and readers show each row's revision (sqlite-repo-unit-pages.ts).
 *
 * "Seen" marks (for mirror syncs) carry the repository's write generation, which every
 * `beginVersion` bumps: marks left by a crashed attempt at the same version number are simply stale.
 */

/** SQL condition: the row of table alias `rc` is in the version bound (twice) at this point. */
export const VISIBLE_IN_VERSION = '(rc.version_added <= ? AND rc.version_removed > ?)';

interface ContentRow {
  id: number;
  type_id: string;
  unit: number;
  version_added: number;
  version_removed: number;
  origin: UnitOrigin;
  /** 1 when the row pins its unit's current revision */
  current: number;
}

/** The columns of {@link ContentRow}, of table alias `rc`. */
const ROW_COLUMNS = `rc.id, rc.type_id, rc.unit, rc.version_added, rc.version_removed, rc.origin,
  rc.unit_rev = (SELECT rev FROM units WHERE id = rc.unit) AS current`;

/**
 * Marks present content rows (by id) of repository `repo` seen by `generation`; `sources[i]`, when
 * given, is recorded as the provenance of `rows[i]` (see {@link recordSources}).
 */
export function markSeen(
  sql: SqliteStatements,
  repo: number,
  generation: number,
  rows: readonly number[],
  sources?: readonly (SourceDigest | undefined)[],
): void {
  sql.runIn(
    rows,
    // `+`: the other terms only check each row found by id; as index terms they would scan the repository
    (p) => `UPDATE repository_content SET seen_generation = ? WHERE id IN (${p}) AND +repo = ? AND +version_removed = ${STILL_PRESENT}`,
    [generation],
    [repo],
  );
  if (sources !== undefined) recordSources(sql, rows, sources, repo);
}

/**
 * Records, per content row (by id), the digest of the upstream record a sync associated it from
 * (none clears it) and the unit revision the row shows (`unit_rev`): what that record wrote. It
 * holds while that is still the unit's current revision (see sourcesPage, sqlite-repo-unit-pages.ts).
 */
function recordSources(sql: SqliteStatements, rows: readonly number[], sources: readonly (SourceDigest | undefined)[], repo: number): void {
  const update = sql.prepare(
    `UPDATE repository_content SET source_a = ?, source_b = ?, source_c = ?, source_rev = unit_rev
     WHERE id = ? AND +repo = ?`,
  );
  rows.forEach((row, i) => {
    const source = sources[i];
    if (source === undefined) update.run(null, null, null, row, repo);
    else update.run(source[0], source[1], source[2], row, repo);
  });
}

/**
 * Associates units with the version being written. A committed version never changes, so a row
 * pins the unit revision it shows (`unit_rev`): a unit present in the base version whose row pins
 * an older revision than the unit's current one (the unit was written since) is split: that row
 * ends here (older versions keep showing its revision) and a new row from here pins the current
 * one, with the same origin; it is not counted as added. A row this very version added just
 * pins the current revision instead (no committed version shows it). Rolling the version back
 * deletes the new rows and reopens the ended ones, as for any other change.
 */
export function associate(
  sql: SqliteStatements,
  known: KnownUnitRows,
  repo: number,
  generation: number,
  version: number,
  units: readonly AssociateRow[],
  origin: UnitOrigin,
): CountsByType {
  known.validate();
  const unitRows = unitRowsOf(sql, known, units);
  // Grouped by type: the content table is keyed (repo, type, unit), so lookups seek exactly.
  const byType = new Map<string, Set<string>>();
  for (const { unitId, typeId } of units) {
    let ids = byType.get(typeId);
    if (ids === undefined) byType.set(typeId, (ids = new Set()));
    ids.add(unitId);
  }
  const sourceOf = sourcesByUnit(units);
  const seen: ContentRow[] = [];
  const promoted: ContentRow[] = [];
  const restored: ContentRow[] = [];
  const endedHere: ContentRow[] = [];
  // rows this version added that pin an older revision than the unit's current one
  const repinned: ContentRow[] = [];
  const inserts: unknown[][] = [];
  const sourcedInserts: unknown[][] = [];
  // content rows kept (by id) whose provenance this association records
  const sourcedRows: number[] = [];
  const sourcedKeys: SourceDigest[] = [];
  const added: CountsByType = {};
  const keeps = (row: ContentRow) => row.origin === origin || row.origin === 'user';
  const insert = (typeId: string, unit: number, unitId: string, rowOrigin: UnitOrigin = origin) => {
    const source = sourceOf?.get(unitId);
    if (source === undefined) inserts.push([repo, typeId, STILL_PRESENT, version, generation, rowOrigin, unit]);
    else sourcedInserts.push([repo, typeId, STILL_PRESENT, version, generation, rowOrigin, source[0], source[1], source[2], unit]);
  };
  const recordSource = (row: number, unitId: string) => {
    const source = sourceOf?.get(unitId);
    if (source === undefined) return;
    sourcedRows.push(row);
    sourcedKeys.push(source);
  };

  for (const [typeId, ids] of byType) {
    const present = new Map<number, ContentRow>();
    const removedHere = new Map<number, ContentRow>();
    // a unit this connection created moments ago is in no repository yet: nothing to look up
    const candidates: number[] = [];
    for (const unitId of ids) if (!known.isUnassociated(unitId)) candidates.push(unitRows.get(unitId)!);
    // A re-sync finds most units present already, from this origin or added by a user, and
    // showing the unit's current revision: one statement marks those seen; only the others are
    // looked up.
    const markedSeen = new Map<number, number>();
    for (const [unit, row] of sql.selectArraysIn<[number, number]>(
      candidates,
      (p) =>
        `UPDATE repository_content SET seen_generation = ?
         WHERE repo = ? AND type_id = ? AND unit IN (${p}) AND version_removed = ${STILL_PRESENT} AND origin IN (?, 'user')
           AND unit_rev = (SELECT rev FROM units WHERE id = repository_content.unit)
         RETURNING unit, id`,
      [generation, repo, typeId],
      [origin],
    )) {
      markedSeen.set(unit, row);
    }
    const lookUp = markedSeen.size === 0 ? candidates : candidates.filter((unit) => !markedSeen.has(unit));
    const rows = sql.selectIn<ContentRow>(
      lookUp,
      (p) =>
        `SELECT ${ROW_COLUMNS} FROM repository_content rc
         WHERE rc.repo = ? AND rc.type_id = ? AND rc.unit IN (${p}) AND rc.version_removed >= ?`,
      [repo, typeId],
      [version],
    );
    for (const row of rows) (row.version_removed === STILL_PRESENT ? present : removedHere).set(row.unit, row);

    for (const unitId of ids) {
      const unit = unitRows.get(unitId)!;
      known.associated(unitId);
      const seenRow = markedSeen.get(unit);
      if (seenRow !== undefined) {
        recordSource(seenRow, unitId);
        continue;
      }
      const current = present.get(unit);
      if (current !== undefined) {
        const pinsCurrent = current.current === 1;
        if (current.version_added === version) {
          if (!keeps(current)) promoted.push(current);
          else seen.push(current);
          if (!pinsCurrent) repinned.push(current);
        } else if (keeps(current) && pinsCurrent) seen.push(current);
        else {
          // Becoming user-added, or showing the unit's new revision, is a change of this version:
          // end the old row here and start a new one, so readers of older versions keep the
          // origin and the revision they had and a rollback restores them.
          endedHere.push(current);
          insert(typeId, unit, unitId, keeps(current) ? current.origin : origin);
          continue;
        }
        recordSource(current.id, unitId);
        continue;
      }
      const removed = removedHere.get(unit);
      if (removed !== undefined && keeps(removed) && removed.current === 1) {
        restored.push(removed);
        recordSource(removed.id, unitId);
      } else if (removed !== undefined && keeps(removed)) insert(typeId, unit, unitId, removed.origin);
      else insert(typeId, unit, unitId);
      added[typeId] = (added[typeId] ?? 0) + 1;
    }
  }

  const ids = (rows: readonly ContentRow[]) => rows.map((row) => row.id);
  sql.runIn(ids(seen), (p) => `UPDATE repository_content SET seen_generation = ? WHERE id IN (${p})`, [generation]);
  sql.runIn(
    ids(promoted),
    (p) => `UPDATE repository_content SET seen_generation = ?, origin = 'user' WHERE id IN (${p})`,
    [generation],
  );
  sql.runIn(
    ids(repinned),
    (p) => `UPDATE repository_content SET unit_rev = (SELECT rev FROM units WHERE id = repository_content.unit) WHERE id IN (${p})`,
  );
  sql.runIn(
    ids(restored),
    (p) => `UPDATE repository_content SET version_removed = ?, seen_generation = ? WHERE id IN (${p})`,
    [STILL_PRESENT, generation],
  );
  sql.runIn(ids(endedHere), (p) => `UPDATE repository_content SET version_removed = ? WHERE id IN (${p})`, [version]);
  // each new row pins the unit's current revision, read by the insert itself
  sql.insertRows(
    inserts,
    7,
    () =>
      `INSERT INTO repository_content (repo, type_id, version_removed, version_added, seen_generation, origin, unit, unit_rev)
       SELECT ?, ?, ?, ?, ?, ?, id, rev FROM units WHERE id = ?`,
  );
  sql.insertRows(
    sourcedInserts,
    10,
    () =>
      `INSERT INTO repository_content
         (repo, type_id, version_removed, version_added, seen_generation, origin, source_a, source_b, source_c, unit, unit_rev, source_rev)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, id, rev, rev FROM units WHERE id = ?`,
  );
  if (sourcedRows.length > 0) recordSources(sql, sourcedRows, sourcedKeys, repo);
  return added;
}

/** The sources given with the units to associate, by unit id; undefined when none has one. */
function sourcesByUnit(units: readonly AssociateRow[]): Map<string, SourceDigest> | undefined {
  let sources: Map<string, SourceDigest> | undefined;
  for (const { unitId, source } of units) {
    if (source !== undefined) (sources ??= new Map()).set(unitId, source);
  }
  return sources;
}

/** `units.id` of every unit to associate; a unit the catalog does not hold cannot be associated. */
function unitRowsOf(sql: SqliteStatements, known: KnownUnitRows, units: readonly AssociateRow[]): Map<string, number> {
  const rows = new Map<string, number>();
  const unknown = new Set<string>();
  for (const { unitId } of units) {
    const row = known.row(unitId);
    if (row !== undefined && row !== ABSENT) rows.set(unitId, row);
    else unknown.add(unitId);
  }
  if (unknown.size === 0) return rows;
  const found = sql.selectIn<{ id: number; unit_id: string }>([...unknown], (p) => `SELECT id, unit_id FROM units WHERE unit_id IN (${p})`);
  for (const { id, unit_id } of found) {
    rows.set(unit_id, id);
    known.remember(unit_id, id);
  }
  const missing = [...unknown].filter((unitId) => !rows.has(unitId));
  if (missing.length > 0) {
    throw unknownUnitsError(missing);
  }
  return rows;
}

export function unassociate(sql: SqliteStatements, repo: number, version: number, unitIds: readonly string[]): CountsByType {
  // The unit's type (part of the content key) comes from the unit itself. CROSS JOIN keeps units
  // the outer loop: with hundreds of ids the planner would otherwise scan the repository's rows.
  const rows = sql.selectIn<ContentRow>(
    [...new Set(unitIds)],
    (p) =>
      `SELECT rc.id, rc.type_id, rc.unit, rc.version_added, rc.version_removed, rc.origin, 1 AS current
       FROM units u CROSS JOIN repository_content rc
         ON rc.repo = ? AND rc.type_id = u.type_id AND rc.unit = u.id AND rc.version_removed = ?
       WHERE u.unit_id IN (${p})`,
    [repo, STILL_PRESENT],
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

export function unassociateUnseen(
  sql: SqliteStatements,
  repo: number,
  generation: number,
  version: number,
  includeUserAdded: boolean,
): CountsByType {
  const where = `repo = ? AND version_removed = ? AND version_added < ? AND seen_generation <> ?${
    includeUserAdded ? '' : ` AND origin <> 'user'`
  }`;
  const params = [repo, STILL_PRESENT, version, generation];
  const counts = sql
    .prepare(`SELECT type_id, COUNT(*) AS n FROM repository_content WHERE ${where} GROUP BY type_id`)
    .all(...params) as { type_id: string; n: number }[];
  sql.prepare(`UPDATE repository_content SET version_removed = ? WHERE ${where}`).run(version, ...params);
  return Object.fromEntries(counts.map((row) => [row.type_id, row.n]));
}

/**
 * Undoes every change made under `version` and any later number (none of which can be
 * committed): rows they added go, rows they removed come back.
 */
export function rollbackContent(sql: SqliteStatements, repo: number, version: number): void {
  sql.prepare('DELETE FROM repository_content WHERE repo = ? AND version_added >= ?').run(repo, version);
  sql
    .prepare(
      `UPDATE repository_content SET version_removed = ?
       WHERE repo = ? AND version_removed >= ? AND version_removed <> ?`,
    )
    .run(STILL_PRESENT, repo, version, STILL_PRESENT);
}

/**
 * Whether `version` differs from `version - 1`: a row it added or ended (each kind found by one
 * seek of its version index).
 */
export function versionChanged(sql: SqliteStatements, repo: number, version: number): boolean {
  const row = sql
    .prepare(
      `SELECT EXISTS (SELECT 1 FROM repository_content WHERE repo = ? AND version_added = ?)
           OR EXISTS (SELECT 1 FROM repository_content WHERE repo = ? AND version_removed = ?)`,
      true,
    )
    .get(repo, version, repo, version) as [number];
  return row[0] === 1;
}

/** Units in `version` by type; an unknown repository has none. */
export function countRepoUnits(sql: SqliteStatements, repoId: string, version: number): CountsByType {
  const rows = sql
    .prepare(
      `SELECT rc.type_id, COUNT(*) AS n FROM repository_content rc
       WHERE rc.repo = (SELECT seq FROM repositories WHERE id = ?) AND ${VISIBLE_IN_VERSION} GROUP BY rc.type_id`,
    )
    .all(repoId, version, version) as { type_id: string; n: number }[];
  return Object.fromEntries(rows.map((row) => [row.type_id, row.n]));
}
