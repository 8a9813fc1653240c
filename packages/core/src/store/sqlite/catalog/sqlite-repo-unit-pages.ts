import type { Digests, RepoUnitKey, UnitOrigin } from '@tributary/plugin-api';
import type { RepoUnitArtifactView, RepoUnitView } from '../../content-store.js';
import { VISIBLE_IN_VERSION } from './sqlite-repository-content.js';
import type { SqliteStatements } from './sqlite-statements.js';
import { artifactDigests, type ArtifactRow } from './sqlite-units.js';
import { storedFingerprintColumns, type StoredRemote, type StoredUnitArtifact } from '../../unit-columns.js';
import { FINGERPRINT_FIELDS, STORED_FINGERPRINT_FIELDS, writeFingerprint } from '../../unit-fingerprint.js';

/**
 * One page of a repository version's units, in (type, catalog row) order, starting after `after`.
 * Reading page by page (keyset pagination) rather than through one open cursor keeps memory
 * bounded and leaves the connection free between pages: better-sqlite3 refuses every other
 * statement while an iterator is open, and a sync writes while it streams the repository's keys.
 */
export interface PageCursor {
  readonly typeId: string;
  readonly unitId: string;
}

/**
 * A committed version never changes: a content row shows the unit revision it pins
 * (`rc.unit_rev`), which is the unit's own row while nothing wrote the unit since, and otherwise
 * the copy kept in unit_revisions (schema migration 5). The join probes unit_revisions only for
 * rows that pin an older revision; {@link PINNED_COLUMNS} then read the copy's columns.
 */
const REVISION_JOIN = 'LEFT JOIN unit_revisions ur ON rc.unit_rev <> u.rev AND ur.unit = rc.unit AND ur.rev = rc.unit_rev';

/** The revision's metadata, files and remote sources that a content row shows (see {@link REVISION_JOIN}). */
const PINNED_COLUMNS = [
  'CASE WHEN ur.unit IS NULL THEN u.metadata ELSE ur.metadata END',
  'CASE WHEN ur.unit IS NULL THEN u.artifacts ELSE ur.artifacts END',
  'CASE WHEN ur.unit IS NULL THEN u.remotes ELSE ur.remotes END',
];

interface KeyRow {
  unit_id: string;
  type_id: string;
  key: string;
  origin: UnitOrigin;
  metadata?: string;
  artifacts?: string;
  remotes?: string | null;
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
  const conditions = ['rc.repo = (SELECT seq FROM repositories WHERE id = ?)', VISIBLE_IN_VERSION];
  const params: unknown[] = [repoId, version, version];
  if (typeId !== undefined) {
    conditions.push('rc.type_id = ?');
    params.push(typeId);
  }
  // the cursor names the last unit by id; its catalog row is where the next page starts
  const afterRow = '(SELECT id FROM units WHERE unit_id = ?)';
  if (after !== undefined && typeId !== undefined) {
    // within one type a plain range on the unit's row lets SQLite seek instead of rescanning the type
    conditions.push(`rc.unit > ${afterRow}`);
    params.push(after.unitId);
  } else if (after !== undefined) {
    conditions.push(`(rc.type_id, rc.unit) > (?, ${afterRow})`);
    params.push(after.typeId, after.unitId);
  }
  params.push(limit);
  return sql
    .prepare(
      `SELECT u.unit_id, rc.type_id, rc.origin, u.key${
        withMetadata ? `, ${PINNED_COLUMNS[0]} AS metadata, ${PINNED_COLUMNS[1]} AS artifacts, ${PINNED_COLUMNS[2]} AS remotes` : ''
      }
       FROM repository_content rc JOIN units u ON u.id = rc.unit${withMetadata ? ` ${REVISION_JOIN}` : ''}
       WHERE ${conditions.join(' AND ')}
       ORDER BY rc.type_id, rc.unit LIMIT ?`,
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

export function unitsPage(
  sql: SqliteStatements,
  repoId: string,
  version: number,
  typeId: string | undefined,
  after: PageCursor | undefined,
  limit: number,
): RepoUnitView[] {
  const rows = pageRows(sql, repoId, version, typeId, after, limit, true);
  return unitViews(sql, rows).map((view, index) => ({ ...view, key: JSON.parse(rows[index]!.key), metadata: JSON.parse(rows[index]!.metadata!) }));
}

/**
 * {@link unitsPage} as the JSON text of its list, for the caller on the other side of a thread:
 * each unit's key and metadata are spliced in as the catalog stores them (JSON text), never parsed
 * here, and the page crosses as one string: parsing it there costs less than parsing here and
 * structured-cloning the objects across, and the catalog thread is the busier one.
 */
export function unitsPageJson(
  sql: SqliteStatements,
  repoId: string,
  version: number,
  typeId: string | undefined,
  after: PageCursor | undefined,
  limit: number,
): string {
  const rows = pageRows(sql, repoId, version, typeId, after, limit, true);
  const views = unitViews(sql, rows);
  let text = '[';
  for (let i = 0; i < rows.length; i++) {
    const view = JSON.stringify(views[i]);
    text += `${i === 0 ? '' : ','}${view.slice(0, -1)},"key":${rows[i]!.key},"metadata":${rows[i]!.metadata!}}`;
  }
  return `${text}]`;
}

/** A page's units but for their key and metadata: ids, origin and files (stored digests, remote sources). */
function unitViews(sql: SqliteStatements, rows: readonly KeyRow[]): Omit<RepoUnitView, 'key' | 'metadata'>[] {
  const files = rows.map((row) => JSON.parse(row.artifacts!) as StoredUnitArtifact[]);
  const storedSha256 = new Set<string>();
  for (const list of files) for (const [, sha256] of list) if (sha256 !== null) storedSha256.add(sha256);
  const artifacts = new Map<string, ArtifactRow>();
  for (const row of sql.selectIn<ArtifactRow>([...storedSha256], (p) => `SELECT * FROM artifacts WHERE sha256 IN (${p})`)) {
    artifacts.set(row.sha256, row);
  }
  return rows.map((row, index) => {
    const remotes = row.remotes == null ? [] : (JSON.parse(row.remotes) as StoredRemote[]);
    return {
      unitId: row.unit_id,
      typeId: row.type_id,
      origin: row.origin,
      artifacts: files[index]!.map(([relativePath, sha256]) =>
        artifactView(
          relativePath,
          sha256,
          sha256 === null ? undefined : artifacts.get(sha256),
          remotes.filter((remote) => remote[0] === relativePath),
        ),
      ),
    };
  });
}

/** Where a page of fingerprints starts: a content type, and the unit after which (none: the type's first). */
export interface FingerprintCursor {
  readonly typeId: string;
  readonly unitId?: string;
}

/** One page of a version's unit fingerprints, and where the next page starts (none after the last). */
export interface FingerprintPage {
  readonly fingerprints: Float64Array;
  readonly next: FingerprintCursor | undefined;
}

/**
 * One page of the fingerprints (unit-fingerprint.ts) of `version`'s units as `remote` sees them
 * (of the revisions the version's rows show),
 * in the order of {@link versionContentPage}; the first page starts without a cursor.
 */
export function fingerprintsPage(
  sql: SqliteStatements,
  repoId: string,
  version: number,
  remote: string,
  after: FingerprintCursor | undefined,
  limit: number,
): FingerprintPage {
  // only the columns fingerprinted, as arrays: a re-sync reads every row of the repository
  const { rows, next } = versionContentPage<[metadata: string, artifacts: string, remotes: string | null]>(
    sql,
    repoId,
    version,
    after,
    limit,
    PINNED_COLUMNS.join(', '),
    REVISION_JOIN,
  );
  const fingerprints = new Float64Array(rows.length * STORED_FINGERPRINT_FIELDS);
  for (let i = 0; i < rows.length; i++) {
    const [contentRow, unitId, metadata, artifacts, remotes] = rows[i]!;
    const at = i * STORED_FINGERPRINT_FIELDS;
    writeFingerprint(fingerprints, at, unitId, storedFingerprintColumns(metadata, artifacts, remotes, remote));
    fingerprints[at + FINGERPRINT_FIELDS] = contentRow;
  }
  return { fingerprints, next };
}

/**
 * One page of the recorded sources of `version`'s content rows that still hold (the row shows the
 * revision recorded with the source, and that is still the unit's current one: nothing wrote the
 * unit since), as flat lists of
 * STORED_FINGERPRINT_FIELDS numbers (the source digest's pieces, then the content row), type by
 * type in the order of {@link fingerprintsPage}.
 */
export function sourcesPage(
  sql: SqliteStatements,
  repoId: string,
  version: number,
  after: FingerprintCursor | undefined,
  limit: number,
): FingerprintPage {
  // a repository whose content has no recorded source at all (an importer that gives none) is
  // told at once, so the caller goes on to fingerprints without reading every row for nothing
  if (after === undefined && !hasSources(sql, repoId)) return { fingerprints: new Float64Array(0), next: undefined };
  const { rows, next } = versionContentPage<[a: number | null, b: number | null, c: number | null, current: number | null]>(
    sql,
    repoId,
    version,
    after,
    limit,
    'rc.source_a, rc.source_b, rc.source_c, rc.source_rev = rc.unit_rev AND rc.unit_rev = u.rev',
  );
  const sources = new Float64Array(rows.length * STORED_FINGERPRINT_FIELDS);
  let count = 0;
  for (const [contentRow, , a, b, c, current] of rows) {
    if (a === null || b === null || c === null || current !== 1) continue;
    const at = count++ * STORED_FINGERPRINT_FIELDS;
    sources[at] = a;
    sources[at + 1] = b;
    sources[at + 2] = c;
    sources[at + FINGERPRINT_FIELDS] = contentRow;
  }
  return { fingerprints: count === rows.length ? sources : sources.slice(0, count * STORED_FINGERPRINT_FIELDS), next };
}

/**
 * One page of `version`'s content rows joined with their units, type by type (within a type the
 * next page is a seek, across types it would be a rescan), in the order of {@link unitKeysPage}:
 * each row the content row's id, the unit id, then `columns`; and where the next page starts. The
 * repository's types are found by seeking the content index, not by counting its rows, so a sync
 * that stops after the first page waits for no more.
 */
function versionContentPage<C extends unknown[]>(
  sql: SqliteStatements,
  repoId: string,
  version: number,
  after: FingerprintCursor | undefined,
  limit: number,
  columns: string,
  join = '',
): { rows: [contentRow: number, unitId: string, ...C][]; next: FingerprintCursor | undefined } {
  const typeId = after?.typeId ?? typeAfter(sql, repoId, undefined);
  if (typeId === undefined) return { rows: [], next: undefined };
  const unitAfter = after?.unitId;
  const rows = sql
    .prepare(
      `SELECT rc.id, u.unit_id, ${columns}
       FROM repository_content rc JOIN units u ON u.id = rc.unit ${join}
       WHERE rc.repo = (SELECT seq FROM repositories WHERE id = ?) AND ${VISIBLE_IN_VERSION} AND rc.type_id = ?
         ${unitAfter === undefined ? '' : 'AND rc.unit > (SELECT id FROM units WHERE unit_id = ?)'}
       ORDER BY rc.type_id, rc.unit LIMIT ?`,
      true,
    )
    .all(...[repoId, version, version, typeId, ...(unitAfter === undefined ? [] : [unitAfter]), limit]) as [number, string, ...C][];
  const last = rows[rows.length - 1];
  if (last !== undefined && rows.length === limit) return { rows, next: { typeId, unitId: last[1] } };
  const following = typeAfter(sql, repoId, typeId);
  return { rows, next: following === undefined ? undefined : { typeId: following } };
}

function hasSources(sql: SqliteStatements, repoId: string): boolean {
  const row = sql
    .prepare(
      `SELECT 1 FROM repository_content WHERE repo = (SELECT seq FROM repositories WHERE id = ?) AND source_a IS NOT NULL LIMIT 1`,
      true,
    )
    .get(repoId);
  return row !== undefined;
}

/** The repository's next content type after `typeId` (in any version), by one seek of its content index. */
function typeAfter(sql: SqliteStatements, repoId: string, typeId: string | undefined): string | undefined {
  const row = sql
    .prepare(
      `SELECT type_id FROM repository_content
       WHERE repo = (SELECT seq FROM repositories WHERE id = ?) AND type_id > ? ORDER BY type_id LIMIT 1`,
      true,
    )
    .get(repoId, typeId ?? '') as [string] | undefined;
  return row?.[0];
}

function artifactView(
  relativePath: string,
  storedSha256: string | null,
  stored: ArtifactRow | undefined,
  remotes: readonly StoredRemote[],
): RepoUnitArtifactView {
  const digests: Digests = {};
  const urls = new Set<string>();
  let remoteSize: number | null = null;
  // remotes are sorted by remote name: the first one that knows a value gives it
  for (const [, , remoteUrls, size, remoteDigests] of remotes) {
    for (const url of remoteUrls) urls.add(url);
    remoteSize ??= size;
    for (const [algorithm, value] of Object.entries(remoteDigests)) digests[algorithm as keyof Digests] ??= value;
  }
  // Digests of the stored bytes win over what an upstream announced.
  if (stored !== undefined) Object.assign(digests, artifactDigests(stored));
  if (storedSha256 !== null) digests.sha256 = storedSha256;
  return {
    relativePath,
    sha256: storedSha256 ?? digests.sha256 ?? null,
    size: stored?.size ?? remoteSize,
    stored: storedSha256 !== null,
    remoteUrls: [...urls],
    digests,
  };
}
