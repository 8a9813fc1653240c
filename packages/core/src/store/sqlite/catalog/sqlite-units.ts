import {
  DIGEST_ALGORITHMS,
  ErrorCodes,
  TributaryError,
  type ArtifactRecord,
  type DigestAlgorithm,
  type Digests,
} from '@tributary/plugin-api';
import type { RemoteArtifactRecord, UpsertStatus } from '../../content-store.js';
import type { SqliteStatements } from './sqlite-statements.js';
import { mergeArtifactsColumn, mergeRemotesColumn, remotesColumn, UNIT_COLUMNS } from '../../unit-columns.js';
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
      stored.set(unitId, { id: previous?.id ?? ABSENT, metadata, artifacts, remotes });
      writes.set(unitId, [unitId, encoded[i + 1], encoded[i + 2], metadata, artifacts, remotes]);
    }
  }
  if (writes.size === 0) return statuses;
  const insert = sql.prepare(
    'INSERT OR IGNORE INTO units (unit_id, type_id, key, metadata, artifacts, remotes) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const update = sql.prepare('UPDATE units SET type_id = ?, key = ?, metadata = ?, artifacts = ?, remotes = ?, rev = rev + 1 WHERE id = ?');
  for (const [unitId, row] of writes) {
    const id = stored.get(unitId)!.id;
    if (id !== ABSENT) {
      update.run(row[1], row[2], row[3], row[4], row[5], id);
      known.remember(unitId, id);
      continue;
    }
    const inserted = insert.run(...row);
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
  const rows = artifacts.map((artifact) => [
    artifact.sha256.toLowerCase(),
    artifact.size,
    ...OTHER_DIGESTS.map((algorithm) => artifact.digests[algorithm]?.toLowerCase() ?? null),
  ]);
  // Known digests are never overwritten: they were verified against the stored bytes.
  const merge = OTHER_DIGESTS.map((a) => `${a} = COALESCE(artifacts.${a}, excluded.${a})`).join(', ');
  sql.insertRows(
    rows,
    2 + OTHER_DIGESTS.length,
    (values) =>
      `INSERT INTO artifacts (sha256, size, ${OTHER_DIGESTS.join(', ')}) VALUES ${values}
       ON CONFLICT (sha256) DO UPDATE SET ${merge}`,
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
  const update = sql.prepare('UPDATE units SET remotes = ?, rev = rev + 1 WHERE id = ?');
  for (const row of rows) {
    const json = mergeRemotesColumn(row.remotes, remotesColumn(byUnit.get(row.unit_id)!));
    if (json !== row.remotes) update.run(json, row.id);
  }
}

/**
 * Units in no repository-content row of any version go (their files and remotes are in their rows);
 * then artifacts no unit's file list references.
 */
export function deleteOrphans(sql: SqliteStatements): { units: number; artifacts: string[] } {
  // NOT IN (subquery) makes SQLite build the referenced set once; a correlated NOT EXISTS would
  // need an index on repository_content by unit id that nothing else on the sync path needs.
  const units = sql.prepare(`DELETE FROM units WHERE id NOT IN (SELECT unit FROM repository_content)`).run().changes;
  const artifacts = sql
    .prepare(
      `DELETE FROM artifacts WHERE sha256 NOT IN (
         SELECT a.value ->> 1 FROM units, json_each(units.artifacts) a WHERE a.value ->> 1 IS NOT NULL)
       RETURNING sha256`,
    )
    .all() as { sha256: string }[];
  return { units, artifacts: artifacts.map((row) => row.sha256) };
}
