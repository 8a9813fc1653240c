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
import type { RemoteArtifactRecord, UnitWrite, UpsertStatus } from '../content-store.js';
import type { SqliteStatements } from './sqlite-statements.js';
import { lowerCaseDigests } from '../lower-case-digests.js';

/** Units, artifacts, unit artifacts and remote artifacts: the repository-independent catalog. */

/**
 * Status per input as the port defines it: `updated` means the metadata changed (compared as
 * canonical JSON, so key order does not count); new unit-artifact rows alone do not make a unit
 * `updated`. A unit given twice is compared against its first occurrence.
 */
export function upsertUnits(sql: SqliteStatements, units: readonly UnitWrite[]): UpsertStatus[] {
  const ids = [...new Set(units.map((unit) => unit.unitId))];
  const stored = new Map<string, string>();
  const existing = sql.selectIn<{ unit_id: string; metadata: string }>(
    ids,
    (p) => `SELECT unit_id, metadata FROM units WHERE unit_id IN (${p})`,
  );
  for (const row of existing) stored.set(row.unit_id, row.metadata);

  const statuses: UpsertStatus[] = [];
  const writes = new Map<string, unknown[]>();
  const artifactRows: unknown[][] = [];
  for (const unit of units) {
    const metadata = canonicalJson(unit.metadata ?? {});
    const previous = stored.get(unit.unitId);
    if (previous === metadata) {
      statuses.push('unchanged');
    } else {
      statuses.push(previous === undefined ? 'created' : 'updated');
      stored.set(unit.unitId, metadata);
      writes.set(unit.unitId, [unit.unitId, unit.typeId, JSON.stringify(unit.key), metadata]);
    }
    for (const artifact of unit.artifacts ?? []) {
      artifactRows.push([unit.unitId, artifact.relativePath, artifact.sha256?.toLowerCase() ?? null]);
    }
  }
  sql.insertRows(
    [...writes.values()],
    4,
    (values) =>
      `INSERT INTO units (unit_id, type_id, key, metadata) VALUES ${values}
       ON CONFLICT (unit_id) DO UPDATE SET type_id = excluded.type_id, key = excluded.key, metadata = excluded.metadata`,
  );
  sql.insertRows(
    artifactRows,
    3,
    (values) =>
      `INSERT INTO unit_artifacts (unit_id, relative_path, sha256) VALUES ${values}
       ON CONFLICT (unit_id, relative_path) DO UPDATE SET sha256 = excluded.sha256
       WHERE excluded.sha256 IS NOT NULL AND unit_artifacts.sha256 IS NOT excluded.sha256`,
  );
  return statuses;
}

export function findUnits(sql: SqliteStatements, unitIds: readonly string[]): ExistingUnit[] {
  const ids = [...new Set(unitIds)];
  const rows = sql.selectIn<{ unit_id: string; type_id: string; key: string; metadata: string }>(
    ids,
    (p) => `SELECT unit_id, type_id, key, metadata FROM units WHERE unit_id IN (${p})`,
  );
  const artifacts = unitArtifactsOf(
    sql,
    rows.map((row) => row.unit_id),
  );
  const byId = new Map<string, ExistingUnit>();
  for (const row of rows) {
    byId.set(row.unit_id, {
      unitId: row.unit_id,
      typeId: row.type_id,
      key: JSON.parse(row.key),
      metadata: JSON.parse(row.metadata),
      artifacts: artifacts.get(row.unit_id) ?? [],
    });
  }
  return ids.flatMap((id) => byId.get(id) ?? []);
}

function unitArtifactsOf(sql: SqliteStatements, unitIds: readonly string[]) {
  const rows = sql.selectIn<{ unit_id: string; relative_path: string; sha256: string | null }>(
    unitIds,
    (p) => `SELECT unit_id, relative_path, sha256 FROM unit_artifacts WHERE unit_id IN (${p})`,
  );
  const byUnit = new Map<string, { relativePath: string; sha256: string | null }[]>();
  for (const row of rows) {
    let list = byUnit.get(row.unit_id);
    if (list === undefined) byUnit.set(row.unit_id, (list = []));
    list.push({ relativePath: row.relative_path, sha256: row.sha256 });
  }
  for (const list of byUnit.values()) list.sort((a, b) => compareText(a.relativePath, b.relativePath));
  return byUnit;
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

export function upsertRemoteArtifacts(sql: SqliteStatements, remotes: readonly RemoteArtifactRecord[]): void {
  const rows = remotes.map((remote) => [
    remote.unitId,
    remote.relativePath,
    remote.remote,
    JSON.stringify(remote.urls),
    remote.size ?? null,
    JSON.stringify(lowerCaseDigests(remote.digests ?? {})),
  ]);
  sql.insertRows(
    rows,
    6,
    (values) =>
      `INSERT INTO remote_artifacts (unit_id, relative_path, remote, urls, size, digests) VALUES ${values}
       ON CONFLICT (unit_id, relative_path, remote) DO UPDATE SET
         urls = excluded.urls, size = excluded.size, digests = excluded.digests
       WHERE remote_artifacts.urls IS NOT excluded.urls OR remote_artifacts.size IS NOT excluded.size
          OR remote_artifacts.digests IS NOT excluded.digests`,
  );
}


/** A stable order for relative paths (UTF-16 code units; the paths are compared, never collated). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Units in no repository-content row of any version go, with their unit-artifact and
 * remote-artifact rows; then artifacts no unit-artifact row references.
 */
export function deleteOrphans(sql: SqliteStatements): { units: number; artifacts: string[] } {
  // NOT IN (subquery) makes SQLite build the referenced set once; a correlated NOT EXISTS would
  // need an index on repository_content by unit id that nothing else on the sync path needs.
  const orphan = `unit_id NOT IN (SELECT unit_id FROM repository_content)`;
  sql.prepare(`DELETE FROM unit_artifacts WHERE ${orphan}`).run();
  sql.prepare(`DELETE FROM remote_artifacts WHERE ${orphan}`).run();
  const units = sql.prepare(`DELETE FROM units WHERE ${orphan}`).run().changes;
  const artifacts = sql
    .prepare(
      `DELETE FROM artifacts WHERE sha256 NOT IN (SELECT sha256 FROM unit_artifacts WHERE sha256 IS NOT NULL)
       RETURNING sha256`,
    )
    .all() as { sha256: string }[];
  return { units, artifacts: artifacts.map((row) => row.sha256) };
}
