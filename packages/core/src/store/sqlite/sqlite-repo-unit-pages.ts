import type { Digests, RepoUnitKey, UnitOrigin } from '@tributary/plugin-api';
import type { RepoUnitArtifactView, RepoUnitView } from '../content-store.js';
import { VISIBLE_IN_VERSION } from './sqlite-repository-content.js';
import type { SqliteStatements } from './sqlite-statements.js';
import { artifactDigests, compareText, type ArtifactRow } from './sqlite-units.js';

/**
 * One page of a repository version's units, in (type, unit id) order, starting after `after`.
 * Reading page by page (keyset pagination) rather than through one open cursor keeps memory
 * bounded and leaves the connection free between pages: better-sqlite3 refuses every other
 * statement while an iterator is open, and a sync writes while it streams the repository's keys.
 */
export interface PageCursor {
  readonly typeId: string;
  readonly unitId: string;
}

interface KeyRow {
  unit_id: string;
  type_id: string;
  key: string;
  origin: UnitOrigin;
  metadata?: string;
}

function pageRows(
  sql: SqliteStatements,
  repoId: string,
  version: number,
  typeId: string | undefined,
  after: PageCursor | undefined,
  limit: number,
  withMetadata: boolean,
): KeyRow[] {
  const conditions = ['rc.repo_id = ?', VISIBLE_IN_VERSION];
  const params: unknown[] = [repoId, version, version];
  if (typeId !== undefined) {
    conditions.push('rc.type_id = ?');
    params.push(typeId);
  }
  if (after !== undefined && typeId !== undefined) {
    // within one type a plain range on unit_id lets SQLite seek instead of rescanning the type
    conditions.push('rc.unit_id > ?');
    params.push(after.unitId);
  } else if (after !== undefined) {
    conditions.push('(rc.type_id, rc.unit_id) > (?, ?)');
    params.push(after.typeId, after.unitId);
  }
  params.push(limit);
  return sql
    .prepare(
      `SELECT rc.unit_id, rc.type_id, rc.origin, u.key${withMetadata ? ', u.metadata' : ''}
       FROM repository_content rc JOIN units u ON u.unit_id = rc.unit_id
       WHERE ${conditions.join(' AND ')}
       ORDER BY rc.type_id, rc.unit_id LIMIT ?`,
    )
    .all(...params) as KeyRow[];
}

export function unitKeysPage(
  sql: SqliteStatements,
  repoId: string,
  version: number,
  typeId: string | undefined,
  after: PageCursor | undefined,
  limit: number,
): RepoUnitKey[] {
  return pageRows(sql, repoId, version, typeId, after, limit, false).map((row) => ({
    unitId: row.unit_id,
    typeId: row.type_id,
    key: JSON.parse(row.key),
    origin: row.origin,
  }));
}

interface UnitArtifactRow extends Partial<ArtifactRow> {
  unit_id: string;
  relative_path: string;
  stored_sha256: string | null;
}

interface RemoteRow {
  unit_id: string;
  relative_path: string;
  urls: string;
  size: number | null;
  digests: string;
}

export function unitsPage(
  sql: SqliteStatements,
  repoId: string,
  version: number,
  typeId: string | undefined,
  after: PageCursor | undefined,
  limit: number,
): RepoUnitView[] {
  const rows = pageRows(sql, repoId, version, typeId, after, limit, true);
  const ids = rows.map((row) => row.unit_id);
  const artifacts = sql.selectIn<UnitArtifactRow>(
    ids,
    (p) =>
      `SELECT ua.unit_id, ua.relative_path, ua.sha256 AS stored_sha256,
              a.sha256, a.size, a.md5, a.sha1, a.sha224, a.sha384, a.sha512
       FROM unit_artifacts ua LEFT JOIN artifacts a ON a.sha256 = ua.sha256
       WHERE ua.unit_id IN (${p})`,
  );
  const remotes = sql.selectIn<RemoteRow>(
    ids,
    (p) =>
      `SELECT unit_id, relative_path, urls, size, digests FROM remote_artifacts
       WHERE unit_id IN (${p}) ORDER BY remote`,
  );
  const remotesByPath = new Map<string, RemoteRow[]>();
  for (const remote of remotes) {
    const id = `${remote.unit_id}\u0000${remote.relative_path}`;
    let list = remotesByPath.get(id);
    if (list === undefined) remotesByPath.set(id, (list = []));
    list.push(remote);
  }
  const viewsByUnit = new Map<string, RepoUnitArtifactView[]>();
  for (const artifact of artifacts) {
    let list = viewsByUnit.get(artifact.unit_id);
    if (list === undefined) viewsByUnit.set(artifact.unit_id, (list = []));
    list.push(artifactView(artifact, remotesByPath.get(`${artifact.unit_id}\u0000${artifact.relative_path}`) ?? []));
  }
  return rows.map((row) => ({
    unitId: row.unit_id,
    typeId: row.type_id,
    key: JSON.parse(row.key),
    metadata: JSON.parse(row.metadata!),
    origin: row.origin,
    artifacts: (viewsByUnit.get(row.unit_id) ?? []).sort((a, b) => compareText(a.relativePath, b.relativePath)),
  }));
}

function artifactView(row: UnitArtifactRow, remotes: readonly RemoteRow[]): RepoUnitArtifactView {
  const digests: Digests = {};
  const urls = new Set<string>();
  let remoteSize: number | null = null;
  for (const remote of remotes) {
    for (const url of JSON.parse(remote.urls) as string[]) urls.add(url);
    remoteSize ??= remote.size;
    for (const [algorithm, value] of Object.entries(JSON.parse(remote.digests) as Digests)) {
      digests[algorithm as keyof Digests] ??= value;
    }
  }
  // Digests of the stored bytes win over what an upstream announced.
  if (row.sha256 != null) Object.assign(digests, artifactDigests({ ...row, sha256: row.sha256 }));
  if (row.stored_sha256 !== null) digests.sha256 = row.stored_sha256;
  return {
    relativePath: row.relative_path,
    sha256: row.stored_sha256 ?? digests.sha256 ?? null,
    size: row.size ?? remoteSize,
    stored: row.stored_sha256 !== null,
    remoteUrls: [...urls],
    digests,
  };
}
