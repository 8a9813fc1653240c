import {
  DIGEST_ALGORITHMS,
  ErrorCodes,
  TributaryError,
  type ArtifactRecord,
  type DigestAlgorithm,
  type Digests,
} from '@tributary/plugin-api';
import type { CatalogUnit, RemoteArtifactRecord, UpsertStatus } from '../../content-store.js';
import type { SqliteStatements } from './sqlite-statements.js';
import { mergeArtifactsColumn, mergeRemotesColumn, remotesColumn, UNIT_COLUMNS, type StoredUnitArtifact } from '../../unit-columns.js';
import { ABSENT, type KnownUnitRows } from './known-unit-rows.js';

/**
 * Units, artifacts and remote artifacts: the repository-independent catalog. A unit's files and
 * remote sources are JSON columns of its own row (schema migration 2; see unit-columns.ts).
 * One row per unit is what makes a sync of a million units affordable: every separate table keyed
 * by unit id would add a randomly placed index entry per unit.
 */

/**
 * Status per input as the port defines it: `updated` means the metadata changed (compared as
 * canonical JSON, so key order does not count); new unit-artifact rows alone do not make a unit
 * `updated`. A unit given twice is compared against its first occurrence. Units come encoded as
 * their row's columns (`encodeUnits`, unit-columns.ts).
 */
export function upsertUnits(sql: SqliteStatements, known: KnownUnitRows, encoded: readonly string[]): UpsertStatus[] {
  known.validate();
  const count = encoded.length / UNIT_COLUMNS;
  // units known to be absent (QueryExistingContents just looked) need no second look-up
  const ids = new Set<string>();
  for (let i = 0; i < encoded.length; i += UNIT_COLUMNS) if (known.row(encoded[i]!) !== ABSENT) ids.add(encoded[i]!);
  const stored = new Map<string, { id: number; metadata: string; artifacts: string; remotes: string | null }>();
  const existing = sql.selectIn<{ id: number; unit_id: string; metadata: string; artifacts: string; remotes: string | null }>(
    [...ids],
    (p) => `SELECT id, unit_id, metadata, artifacts, remotes FROM units WHERE unit_id IN (${p})`,
  );
  for (const row of existing) stored.set(row.unit_id, row);
  // what the catalog held before this call, of the stored units it rewrites
  const previousRows = new Map<string, { metadata: string; artifacts: string; remotes: string | null }>();

  const statuses: UpsertStatus[] = new Array<UpsertStatus>(count);
  const writes = new Map<string, unknown[]>();
  for (let u = 0, i = 0; u < count; u++, i += UNIT_COLUMNS) {
    const unitId = encoded[i]!;
    const metadata = encoded[i + 3]!;
    const givenRemotes = encoded[i + 5]!;
    const previous = stored.get(unitId);
    const artifacts = mergeArtifactsColumn(previous?.artifacts, encoded[i + 4]!);
    const remotes = givenRemotes !== '' ? mergeRemotesColumn(previous?.remotes ?? null, givenRemotes) : (previous?.remotes ?? null);
    statuses[u] = previous === undefined ? 'created' : previous.metadata === metadata ? 'unchanged' : 'updated';
    if (previous?.metadata !== metadata || previous.artifacts !== artifacts || previous.remotes !== remotes) {
      if (previous !== undefined && !writes.has(unitId)) previousRows.set(unitId, previous);
      stored.set(unitId, { id: previous?.id ?? ABSENT, metadata, artifacts, remotes });
      writes.set(unitId, [unitId, encoded[i + 1], encoded[i + 2], metadata, artifacts, remotes]);
    }
  }
  if (writes.size === 0) return statuses;
  // when the unit was last written: orphan cleanup's protection time goes by it
  const now = Date.now();
  const insert = sql.prepare(
    'INSERT OR IGNORE INTO units (unit_id, type_id, key, metadata, artifacts, remotes, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const update = sql.prepare('UPDATE units SET type_id = ?, key = ?, metadata = ?, artifacts = ?, remotes = ?, rev = rev + 1, stored_at = ? WHERE id = ?');
  for (const [unitId, row] of writes) {
    const id = stored.get(unitId)!.id;
    if (id !== ABSENT) {
      const before = previousRows.get(unitId);
      if (before !== undefined && completesDeferredFiles(before, row[3] as string, row[4] as string, row[5] as string | null)) {
        // only bytes of announced files arrived: the same revision, completed (see below)
        sql.prepare('UPDATE units SET artifacts = ?, stored_at = ? WHERE id = ?').run(row[4], now, id);
      } else {
        if (!known.isUnassociated(unitId)) keepRevision(sql, id);
        update.run(row[1], row[2], row[3], row[4], row[5], now, id);
      }
      known.remember(unitId, id);
      continue;
    }
    const inserted = insert.run(...row, now);
    if (inserted.changes === 1) {
      known.rememberCreated(unitId, Number(inserted.lastInsertRowid));
      continue;
    }
    // Stored after all, though this connection believed it absent (it cannot be: another
    // connection's commit clears what it believed). Write it the long way, looking it up.
    known.clear();
    const positions: number[] = [];
    const again: string[] = [];
    for (let u = 0, i = 0; u < count; u++, i += UNIT_COLUMNS) {
      if (encoded[i] !== unitId) continue;
      positions.push(u);
      again.push(...encoded.slice(i, i + UNIT_COLUMNS));
    }
    const statusesAgain = upsertUnits(sql, known, again);
    positions.forEach((u, k) => (statuses[u] = statusesAgain[k]!));
  }
  return statuses;
}

/**
 * Copies unit row `id`'s (metadata, artifacts, remotes) into unit_revisions under its current
 * `rev`, before a write replaces them and bumps `rev`: content rows that pin that revision (every
 * committed version that holds the unit as it is now) keep showing it. Only a unit that changes
 * pays this statement; a revision already kept (a write rolled back and repeated) stays as it is.
 */
function keepRevision(sql: SqliteStatements, id: number): void {
  sql
    .prepare(
      `INSERT OR IGNORE INTO unit_revisions (unit, rev, metadata, artifacts, remotes)
       SELECT id, rev, metadata, artifacts, remotes FROM units WHERE id = ?`,
    )
    .run(id);
}

/**
 * True when a write of a unit only gives stored bytes (a sha256) to files it already lists
 * without one (deferred downloads fetched later, e.g. by an export): same metadata, remote
 * sources and paths. That completes the revision every version holding the unit shows rather
 * than making a new one: the version's content is the same, only its bytes are now local.
 */
function completesDeferredFiles(
  before: { metadata: string; artifacts: string; remotes: string | null },
  metadata: string,
  artifacts: string,
  remotes: string | null,
): boolean {
  if (before.metadata !== metadata || before.remotes !== remotes) return false;
  const old = JSON.parse(before.artifacts) as StoredUnitArtifact[];
  const now = JSON.parse(artifacts) as StoredUnitArtifact[];
  return old.length === now.length && old.every(([path, sha256], i) => now[i]![0] === path && (sha256 === null || sha256 === now[i]![1]));
}

/**
 * The stored units among `unitIds`, in the order asked, as JSON text of their rows' columns
 * (decoded by `decodeFoundUnits`, unit-columns.ts). Text, because the units cross to
 * another thread, and no column is parsed here: the catalog thread only splices what it read.
 */
export function findUnitsJson(sql: SqliteStatements, known: KnownUnitRows, unitIds: readonly string[]): string {
  known.validate();
  const ids = [...new Set(unitIds)];
  // SQLite splices each unit's JSON itself: one string per row reaches JavaScript, not six
  const rows = sql.selectArraysIn<[id: number, unitId: string, json: string]>(
    ids,
    (p) =>
      `SELECT id, unit_id,
              '[' || json_quote(unit_id) || ',' || json_quote(type_id) || ',' || key || ',' || metadata || ',' || artifacts || ',' || coalesce(remotes, 'null') || ']'
       FROM units WHERE unit_id IN (${p})`,
  );
  const byId = new Map<string, string>();
  for (const [id, unitId, json] of rows) {
    known.remember(unitId, id);
    byId.set(unitId, json);
  }
  const found: string[] = [];
  for (const id of ids) {
    const unit = byId.get(id);
    if (unit === undefined) known.remember(id, ABSENT);
    else found.push(unit);
  }
  return `[${found.join(',')}]`;
}

const OTHER_DIGESTS = DIGEST_ALGORITHMS.filter((algorithm) => algorithm !== 'sha256');

export function upsertArtifacts(sql: SqliteStatements, artifacts: readonly ArtifactRecord[]): void {
  const now = Date.now();
  const rows = artifacts.map((artifact) => [
    artifact.sha256.toLowerCase(),
    artifact.size,
    ...OTHER_DIGESTS.map((algorithm) => artifact.digests[algorithm]?.toLowerCase() ?? null),
    now,
  ]);
  // Known digests are never overwritten: they were verified against the stored bytes. Storing the
  // bytes again renews `stored_at`, which orphan cleanup's protection time goes by.
  const merge = OTHER_DIGESTS.map((a) => `${a} = COALESCE(artifacts.${a}, excluded.${a})`).join(', ');
  sql.insertRows(
    rows,
    3 + OTHER_DIGESTS.length,
    (values) =>
      `INSERT INTO artifacts (sha256, size, ${OTHER_DIGESTS.join(', ')}, stored_at) VALUES ${values}
       ON CONFLICT (sha256) DO UPDATE SET ${merge}, stored_at = excluded.stored_at`,
  );
}

export interface ArtifactRow {
  sha256: string;
  size: number;
  md5: string | null;
  sha1: string | null;
  sha224: string | null;
  sha384: string | null;
  sha512: string | null;
}

export function findArtifacts(sql: SqliteStatements, algorithm: DigestAlgorithm, digests: readonly string[]): ArtifactRecord[] {
  if (!DIGEST_ALGORITHMS.includes(algorithm)) {
    throw new TributaryError(
      ErrorCodes.INVALID_ARGUMENT,
      `unknown digest algorithm '${String(algorithm)}'; expected one of ${DIGEST_ALGORITHMS.join(', ')}`,
      { details: { algorithm } },
    );
  }
  const wanted = [...new Set(digests.map((digest) => digest.toLowerCase()))];
  const rows = sql.selectIn<ArtifactRow>(wanted, (p) => `SELECT * FROM artifacts WHERE ${algorithm} IN (${p})`);
  return rows.map((row) => ({ sha256: row.sha256, size: row.size, digests: artifactDigests(row) }));
}

/** Every digest known of an artifact row, sha256 included. */
export function artifactDigests(row: Partial<ArtifactRow> & { sha256: string }): Digests {
  const digests: Digests = {};
  for (const algorithm of DIGEST_ALGORITHMS) {
    const value = row[algorithm];
    if (typeof value === 'string') digests[algorithm] = value;
  }
  return digests;
}

/**
 * Upserts remote artifacts into their units' rows; remotes of units not stored are ignored (a
 * remote source only means something for a unit, and the pipeline saves units first). A unit whose
 * remotes are already identical is not written.
 */
export function upsertRemoteArtifacts(sql: SqliteStatements, remotes: readonly RemoteArtifactRecord[]): void {
  const byUnit = new Map<string, RemoteArtifactRecord[]>();
  for (const remote of remotes) {
    const list = byUnit.get(remote.unitId);
    if (list === undefined) byUnit.set(remote.unitId, [remote]);
    else list.push(remote);
  }
  const rows = sql.selectIn<{ id: number; unit_id: string; remotes: string | null }>(
    [...byUnit.keys()],
    (p) => `SELECT id, unit_id, remotes FROM units WHERE unit_id IN (${p})`,
  );
  const update = sql.prepare('UPDATE units SET remotes = ?, rev = rev + 1, stored_at = ? WHERE id = ?');
  const now = Date.now();
  for (const row of rows) {
    const json = mergeRemotesColumn(row.remotes, remotesColumn(byUnit.get(row.unit_id)!));
    if (json === row.remotes) continue;
    keepRevision(sql, row.id);
    update.run(json, now, row.id);
  }
}

/**
 * A unit whose current state no repository-content row shows any more, while rows still show one
 * of its kept revisions (the repository whose sync wrote it last was deleted), takes the newest such
 * revision back as its current state; then unit revisions no repository-content row pins go, then
 * units in no repository-content row of any version (their files and remotes are in their rows);
 * then artifacts neither a unit's file list, a kept revision nor a publication entry references (a
 * publisher's generated files are referenced only by their entries). Units and artifacts stored
 * at or after `storedBefore` stay (NULL `stored_at`: stored before the time was kept, so old).
 */
export function deleteOrphans(sql: SqliteStatements, storedBefore = Number.MAX_SAFE_INTEGER): { units: number; artifacts: string[] } {
  restorePinnedRevisions(sql);
  // NOT IN (subquery) makes SQLite build the referenced set once; a correlated NOT EXISTS would
  // need an index on repository_content by unit id that nothing else on the sync path needs.
  sql.prepare(`DELETE FROM unit_revisions WHERE (unit, rev) NOT IN (SELECT unit, unit_rev FROM repository_content)`).run();
  const units = sql
    .prepare(`DELETE FROM units WHERE id NOT IN (SELECT unit FROM repository_content) AND (stored_at IS NULL OR stored_at < ?)`)
    .run(storedBefore).changes;
  const artifacts = sql
    .prepare(
      `DELETE FROM artifacts WHERE (stored_at IS NULL OR stored_at < ?) AND sha256 NOT IN (
         SELECT a.value ->> 1 FROM units, json_each(units.artifacts) a WHERE a.value ->> 1 IS NOT NULL
         UNION ALL
         SELECT a.value ->> 1 FROM unit_revisions, json_each(unit_revisions.artifacts) a WHERE a.value ->> 1 IS NOT NULL
         UNION ALL
         SELECT sha256 FROM publication_entries WHERE sha256 IS NOT NULL)
       RETURNING sha256`,
    )
    .all(storedBefore) as { sha256: string }[];
  return { units, artifacts: artifacts.map((row) => row.sha256) };
}

/** Where a page of {@link catalogUnitsPage} starts: after this `units.id`. */
export type CatalogCursor = number;

/**
 * One page of the catalog's units of `typeId` (current revision), in catalog order, after row
 * `after`; and the cursor of the next page (none after the last).
 */
export function catalogUnitsPage(
  sql: SqliteStatements,
  typeId: string,
  after: CatalogCursor | undefined,
  limit: number,
): { items: CatalogUnit[]; next: CatalogCursor | undefined } {
  const rows = sql
    .prepare('SELECT id, unit_id, key, metadata FROM units WHERE id > ? AND type_id = ? ORDER BY id LIMIT ?', true)
    .all(after ?? 0, typeId, limit) as [id: number, unitId: string, key: string, metadata: string][];
  const units = rows.map(([, unitId, key, metadata]) => ({ unitId, typeId, key: JSON.parse(key), metadata: JSON.parse(metadata) }));
  return { items: units, next: rows.length === limit ? rows[rows.length - 1]![0] : undefined };
}

/**
 * See {@link deleteOrphans}. Only units with kept revisions are candidates; the revisions their
 * content rows pin are found by one scan of the content rows. A unit taken back to revision r gets
 * `rev = r` again: no row pins, and no kept revision has, a higher one (those are unpinned and go).
 */
function restorePinnedRevisions(sql: SqliteStatements): void {
  const pinned = sql
    .prepare(
      `SELECT DISTINCT rc.unit, rc.unit_rev, u.rev FROM repository_content rc JOIN units u ON u.id = rc.unit
       WHERE rc.unit IN (SELECT unit FROM unit_revisions)`,
      true,
    )
    .all() as [unit: number, pinnedRev: number, currentRev: number][];
  const newest = new Map<number, number>();
  const current = new Set<number>();
  for (const [unit, pinnedRev, currentRev] of pinned) {
    if (pinnedRev === currentRev) current.add(unit);
    else newest.set(unit, Math.max(newest.get(unit) ?? -1, pinnedRev));
  }
  const restore = sql.prepare(
    `UPDATE units SET (metadata, artifacts, remotes, rev) =
       (SELECT metadata, artifacts, remotes, rev FROM unit_revisions WHERE unit = units.id AND rev = ?)
     WHERE id = ? AND EXISTS (SELECT 1 FROM unit_revisions WHERE unit = units.id AND rev = ?)`,
  );
  const drop = sql.prepare('DELETE FROM unit_revisions WHERE unit = ? AND rev = ?');
  for (const [unit, rev] of newest) {
    if (current.has(unit)) continue;
    if (restore.run(rev, unit, rev).changes === 1) drop.run(unit, rev);
  }
}
