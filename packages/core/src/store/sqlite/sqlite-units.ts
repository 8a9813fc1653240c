import {
  DIGEST_ALGORITHMS,
  ErrorCodes,
  TributaryError,
  type ArtifactRecord,
  type DigestAlgorithm,
  type Digests,
  type ExistingUnit,
} from '@tributary/plugin-api';
import { canonicalJson } from '../canonical-json.js';
import type { RemoteArtifactRecord, UnitArtifactWrite, UnitWrite, UpsertStatus } from '../content-store.js';
import type { SqliteStatements } from './sqlite-statements.js';
import { lowerCaseDigests } from '../lower-case-digests.js';
import { ABSENT, type SqliteUnitRows } from './sqlite-unit-rows.js';

/**
 * Units, artifacts and remote artifacts: the repository-independent catalog.
 *
 * A unit's files and remote sources are JSON columns of its own row (schema migration 2):
 * - `artifacts`: `[[relativePath, sha256 | null], …]`, sorted by path;
 * - `remotes`: `[[relativePath, remote, urls, size | null, digests], …]`, sorted by path then
 *   remote, or NULL.
 * One row per unit is what makes a sync of a million units affordable: every separate table keyed
 * by unit id would add a randomly placed index entry per unit.
 */

/** `[relativePath, sha256 | null]` as stored in `units.artifacts`. */
export type StoredUnitArtifact = [string, string | null];
/** `[relativePath, remote, urls, size, digests]` as stored in `units.remotes`. */
export type StoredRemote = [string, string, string[], number | null, Digests];

/**
 * Status per input as the port defines it: `updated` means the metadata changed (compared as
 * canonical JSON, so key order does not count); new unit-artifact rows alone do not make a unit
 * `updated`. A unit given twice is compared against its first occurrence.
 */
export function upsertUnits(sql: SqliteStatements, known: SqliteUnitRows, units: readonly UnitWrite[]): UpsertStatus[] {
  known.validate();
  // units known to be absent (QueryExistingContents just looked) need no second look-up
  const ids = [...new Set(units.map((unit) => unit.unitId))].filter((id) => known.row(id) !== ABSENT);
  const stored = new Map<string, { id: number; metadata: string; artifacts: string; remotes: string | null }>();
  const existing = sql.selectIn<{ id: number; unit_id: string; metadata: string; artifacts: string; remotes: string | null }>(
    ids,
    (p) => `SELECT id, unit_id, metadata, artifacts, remotes FROM units WHERE unit_id IN (${p})`,
  );
  for (const row of existing) stored.set(row.unit_id, row);

  const statuses: UpsertStatus[] = [];
  const writes = new Map<string, unknown[]>();
  for (const unit of units) {
    const metadata = canonicalJson(unit.metadata ?? {});
    const previous = stored.get(unit.unitId);
    const artifacts = mergeUnitArtifacts(previous?.artifacts, unit.artifacts ?? []);
    const remotes = unit.remotes?.length ? mergeRemotes(previous?.remotes ?? null, unit.remotes) : (previous?.remotes ?? null);
    if (previous?.metadata === metadata) statuses.push('unchanged');
    else statuses.push(previous === undefined ? 'created' : 'updated');
    if (previous?.metadata !== metadata || previous.artifacts !== artifacts || previous.remotes !== remotes) {
      stored.set(unit.unitId, { id: previous?.id ?? ABSENT, metadata, artifacts, remotes });
      writes.set(unit.unitId, [unit.unitId, unit.typeId, JSON.stringify(unit.key), metadata, artifacts, remotes]);
    }
  }
  if (writes.size === 0) return statuses;
  const insert = sql.prepare(
    'INSERT OR IGNORE INTO units (unit_id, type_id, key, metadata, artifacts, remotes) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const update = sql.prepare('UPDATE units SET type_id = ?, key = ?, metadata = ?, artifacts = ?, remotes = ? WHERE id = ?');
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
    const again = units.map((unit, i) => [unit, i] as const).filter(([unit]) => unit.unitId === unitId);
    const statusesAgain = upsertUnits(sql, known, again.map(([unit]) => unit));
    again.forEach(([, i], k) => (statuses[i] = statusesAgain[k]!));
  }
  return statuses;
}

/**
 * The unit's artifact list after writing `given` over `storedJson`: paths not given are kept, a
 * null sha256 never erases a known one. Returns `storedJson` itself when nothing changed.
 */
function mergeUnitArtifacts(storedJson: string | undefined, given: readonly UnitArtifactWrite[]): string {
  if (storedJson === undefined || storedJson === '[]') {
    if (given.length === 0) return '[]';
    const list = given.map((a): StoredUnitArtifact => [a.relativePath, a.sha256?.toLowerCase() ?? null]);
    if (list.length > 1) list.sort((a, b) => compareText(a[0], b[0]));
    return JSON.stringify(list);
  }
  const list = JSON.parse(storedJson) as StoredUnitArtifact[];
  let changed = false;
  for (const artifact of given) {
    const sha256 = artifact.sha256?.toLowerCase() ?? null;
    const current = list.find((entry) => entry[0] === artifact.relativePath);
    if (current === undefined) {
      list.push([artifact.relativePath, sha256]);
      changed = true;
    } else if (sha256 !== null && current[1] !== sha256) {
      current[1] = sha256;
      changed = true;
    }
  }
  if (!changed) return storedJson;
  list.sort((a, b) => compareText(a[0], b[0]));
  return JSON.stringify(list);
}

export function findUnits(sql: SqliteStatements, known: SqliteUnitRows, unitIds: readonly string[]): ExistingUnit[] {
  known.validate();
  const ids = [...new Set(unitIds)];
  const rows = sql.selectIn<{ id: number; unit_id: string; type_id: string; key: string; metadata: string; artifacts: string; remotes: string | null }>(
    ids,
    (p) => `SELECT id, unit_id, type_id, key, metadata, artifacts, remotes FROM units WHERE unit_id IN (${p})`,
  );
  const byId = new Map<string, ExistingUnit>();
  for (const row of rows) {
    known.remember(row.unit_id, row.id);
    byId.set(row.unit_id, {
      unitId: row.unit_id,
      typeId: row.type_id,
      key: JSON.parse(row.key),
      metadata: JSON.parse(row.metadata),
      artifacts: (JSON.parse(row.artifacts) as StoredUnitArtifact[]).map(([relativePath, sha256]) => ({ relativePath, sha256 })),
      remotes:
        row.remotes === null
          ? []
          : (JSON.parse(row.remotes) as StoredRemote[]).map(([relativePath, remote, urls, size, digests]) => ({
              relativePath,
              remote,
              urls,
              size,
              digests,
            })),
    });
  }
  for (const id of ids) if (!byId.has(id)) known.remember(id, ABSENT);
  return ids.flatMap((id) => byId.get(id) ?? []);
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
  const update = sql.prepare('UPDATE units SET remotes = ? WHERE id = ?');
  for (const row of rows) {
    const json = mergeRemotes(row.remotes, byUnit.get(row.unit_id)!);
    if (json !== row.remotes) update.run(json, row.id);
  }
}

/**
 * A unit's remote list after upserting `given` (by path and remote) into `storedJson`. Returns
 * `storedJson` itself when nothing changed; the common cases (nothing stored yet, or exactly the
 * given entries stored) need no parsing.
 */
function mergeRemotes(storedJson: string | null, given: readonly Omit<RemoteArtifactRecord, 'unitId'>[]): string {
  const entries = given.map(
    (remote): StoredRemote => [remote.relativePath, remote.remote, [...remote.urls], remote.size ?? null, lowerCaseDigests(remote.digests ?? {})],
  );
  const sortRemotes = (list: StoredRemote[]) => {
    if (list.length > 1) list.sort((a, b) => compareText(a[0], b[0]) || compareText(a[1], b[1]));
    return list;
  };
  const onlyGiven = JSON.stringify(sortRemotes(dedupeRemotes(entries)));
  if (storedJson === null || storedJson === onlyGiven) return onlyGiven;
  const list = JSON.parse(storedJson) as StoredRemote[];
  for (const entry of entries) {
    const at = list.findIndex((e) => e[0] === entry[0] && e[1] === entry[1]);
    if (at >= 0) list[at] = entry;
    else list.push(entry);
  }
  const json = JSON.stringify(sortRemotes(list));
  return json === storedJson ? storedJson : json;
}

/** The last entry per (path, remote) wins, as successive upserts would. */
function dedupeRemotes(entries: StoredRemote[]): StoredRemote[] {
  if (entries.length < 2) return entries;
  const byKey = new Map<string, StoredRemote>();
  for (const entry of entries) byKey.set(`${entry[0]}\u0000${entry[1]}`, entry);
  return [...byKey.values()];
}

/** A stable order for relative paths (UTF-16 code units; the paths are compared, never collated). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
