import { randomUUID } from 'node:crypto';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import type { CatalogLeaseRecord, LeaseRecord, RepositoryInput, RepositoryRecord } from '../../content-store.js';
import { validRetention } from '../../retain-versions.js';
import type { SqliteStatements } from './sqlite-statements.js';

export interface RepositoryRow {
  id: string;
  /** The repository's number in repository_content rows (schema migration 3). */
  seq: number;
  name: string;
  latest_version: number;
  write_generation: number;
  importer: string | null;
  feed_url: string | null;
  policy: string | null;
  config: string | null;
  description: string | null;
  retain_versions: number | null;
  created_at: string;
  updated_at: string;
}

/** Repositories, their version pointer and their lease. Runs inside the store's transactions. */
export class SqliteRepositories {
  constructor(private readonly sql: SqliteStatements) {}

  create(input: RepositoryInput): RepositoryRecord {
    const name = validName(input.name);
    if (this.byName(name) !== undefined) {
      throw new TributaryError(ErrorCodes.REPO_EXISTS, `a repository named '${name}' already exists`, {
        details: { name },
      });
    }
    const now = new Date().toISOString();
    const { next } = this.sql.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM repositories').get() as { next: number };
    const row: RepositoryRow = {
      id: randomUUID(),
      seq: next,
      name,
      latest_version: 0,
      write_generation: 0,
      importer: input.importer ?? null,
      feed_url: input.feedUrl ?? null,
      policy: input.policy ?? null,
      config: input.config == null ? null : JSON.stringify(input.config),
      description: input.description ?? null,
      retain_versions: validRetention(input.retainVersions),
      created_at: now,
      updated_at: now,
    };
    this.sql
      .prepare(
        `INSERT INTO repositories (id, seq, name, latest_version, importer, feed_url, policy, config, description, retain_versions, created_at, updated_at)
         VALUES (@id, @seq, @name, @latest_version, @importer, @feed_url, @policy, @config, @description, @retain_versions, @created_at, @updated_at)`,
      )
      .run(row);
    return toRecord(row);
  }

  byName(name: string): RepositoryRecord | undefined {
    const row = this.sql.prepare('SELECT * FROM repositories WHERE name = ?').get(name) as RepositoryRow | undefined;
    return row && toRecord(row);
  }

  byId(id: string): RepositoryRecord | undefined {
    const row = this.sql.prepare('SELECT * FROM repositories WHERE id = ?').get(id) as RepositoryRow | undefined;
    return row && toRecord(row);
  }

  list(): RepositoryRecord[] {
    return (this.sql.prepare('SELECT * FROM repositories ORDER BY name').all() as RepositoryRow[]).map(toRecord);
  }

  update(id: string, patch: Partial<RepositoryInput>): RepositoryRecord {
    const row = this.row(id);
    const next: RepositoryRow = { ...row, updated_at: new Date().toISOString() };
    if (patch.name !== undefined && patch.name !== row.name) {
      next.name = validName(patch.name);
      if (this.byName(next.name) !== undefined) {
        throw new TributaryError(ErrorCodes.REPO_EXISTS, `cannot rename '${row.name}': a repository named '${next.name}' already exists`, {
          details: { name: next.name },
        });
      }
    }
    if (patch.importer !== undefined) next.importer = patch.importer;
    if (patch.feedUrl !== undefined) next.feed_url = patch.feedUrl;
    if (patch.policy !== undefined) next.policy = patch.policy;
    if (patch.config !== undefined) next.config = patch.config === null ? null : JSON.stringify(patch.config);
    if (patch.description !== undefined) next.description = patch.description;
    if (patch.retainVersions !== undefined) next.retain_versions = validRetention(patch.retainVersions);
    this.sql
      .prepare(
        `UPDATE repositories SET name = @name, importer = @importer, feed_url = @feed_url, policy = @policy, config = @config,
         description = @description, retain_versions = @retain_versions, updated_at = @updated_at WHERE id = @id`,
      )
      .run(next);
    return toRecord(next);
  }

  delete(id: string): boolean {
    // Explicit deletes rather than relying on ON DELETE CASCADE alone: clearer, and correct even
    // on a connection opened without foreign_keys.
    this.sql.prepare('DELETE FROM repository_content WHERE repo = (SELECT seq FROM repositories WHERE id = ?)').run(id);
    this.sql.prepare('DELETE FROM sync_history WHERE repo_id = ?').run(id);
    this.sql.prepare('DELETE FROM repository_versions WHERE repo_id = ?').run(id);
    this.sql.prepare('DELETE FROM leases WHERE repo_id = ?').run(id);
    return this.sql.prepare('DELETE FROM repositories WHERE id = ?').run(id).changes > 0;
  }

  latestVersion(id: string): number {
    return this.row(id).latest_version;
  }

  /** The repository's number in repository_content rows. */
  seq(id: string): number {
    return this.row(id).seq;
  }

  /**
   * Starts writing version latest + 1 under a new write generation; returns both and the
   * repository's number.
   */
  beginWrite(id: string): { version: number; generation: number; seq: number } {
    const row = this.row(id);
    const generation = row.write_generation + 1;
    this.sql.prepare('UPDATE repositories SET write_generation = ? WHERE id = ?').run(generation, id);
    return { version: row.latest_version + 1, generation, seq: row.seq };
  }

  /**
   * The write generation of the version being written and the repository's number, refusing any
   * other version number: a change to a committed version would rewrite history readers rely on.
   */
  writableVersion(id: string, version: number): { generation: number; seq: number } {
    const row = this.row(id);
    if (version !== row.latest_version + 1) {
      throw new TributaryError(
        ErrorCodes.STORE,
        `cannot change version ${version} of repository ${id}: only version ${row.latest_version + 1} (after the committed ${row.latest_version}) can be written`,
        { details: { repoId: id, version, latestVersion: row.latest_version } },
      );
    }
    return { generation: row.write_generation, seq: row.seq };
  }

  commitVersion(id: string, version: number): void {
    const moved = this.sql
      .prepare('UPDATE repositories SET latest_version = ?, updated_at = ? WHERE id = ? AND latest_version = ?')
      .run(version, new Date().toISOString(), id, version - 1).changes;
    if (moved === 0) {
      const latest = this.latestVersion(id);
      throw new TributaryError(
        ErrorCodes.STORE,
        `cannot commit version ${version} of repository ${id}: its latest version is ${latest}, not ${version - 1}`,
        { details: { repoId: id, version, latestVersion: latest } },
      );
    }
  }

  /** One statement: inserts the lease, or takes it over when expired or already ours. */
  acquireLease(repoId: string, holder: string, ttlMs: number): boolean {
    this.row(repoId);
    const now = Date.now();
    return (
      this.sql
        .prepare(
          `INSERT INTO leases (repo_id, holder, expires_at) VALUES (?, ?, ?)
           ON CONFLICT (repo_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
           WHERE leases.expires_at <= ? OR leases.holder = excluded.holder`,
        )
        .run(repoId, holder, now + ttlMs, now).changes === 1
    );
  }

  renewLease(repoId: string, holder: string, ttlMs: number): boolean {
    return (
      this.sql
        .prepare('UPDATE leases SET expires_at = ? WHERE repo_id = ? AND holder = ?')
        .run(Date.now() + ttlMs, repoId, holder).changes === 1
    );
  }

  releaseLease(repoId: string, holder: string): void {
    this.sql.prepare('DELETE FROM leases WHERE repo_id = ? AND holder = ?').run(repoId, holder);
  }

  lease(repoId: string): LeaseRecord | undefined {
    const row = this.sql.prepare('SELECT repo_id, holder, expires_at FROM leases WHERE repo_id = ?').get(repoId) as
      | { repo_id: string; holder: string; expires_at: number }
      | undefined;
    return row && { repoId: row.repo_id, holder: row.holder, expiresAt: row.expires_at };
  }

  /** {@link acquireLease} of a catalog-wide lease (no repository behind it). */
  acquireCatalogLease(name: string, holder: string, ttlMs: number): boolean {
    const now = Date.now();
    return (
      this.sql
        .prepare(
          `INSERT INTO catalog_leases (name, holder, expires_at) VALUES (?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
           WHERE catalog_leases.expires_at <= ? OR catalog_leases.holder = excluded.holder`,
        )
        .run(name, holder, now + ttlMs, now).changes === 1
    );
  }

  renewCatalogLease(name: string, holder: string, ttlMs: number): boolean {
    return this.sql.prepare('UPDATE catalog_leases SET expires_at = ? WHERE name = ? AND holder = ?').run(Date.now() + ttlMs, name, holder).changes === 1;
  }

  releaseCatalogLease(name: string, holder: string): void {
    this.sql.prepare('DELETE FROM catalog_leases WHERE name = ? AND holder = ?').run(name, holder);
  }

  catalogLease(name: string): CatalogLeaseRecord | undefined {
    const row = this.sql.prepare('SELECT name, holder, expires_at FROM catalog_leases WHERE name = ?').get(name) as
      | { name: string; holder: string; expires_at: number }
      | undefined;
    return row && { name: row.name, holder: row.holder, expiresAt: row.expires_at };
  }

  /** The repository's row (TRIBUTARY_ERR_REPO_NOT_FOUND when there is none). */
  row(id: string): RepositoryRow {
    const row = this.sql.prepare('SELECT * FROM repositories WHERE id = ?').get(id) as RepositoryRow | undefined;
    if (row === undefined) {
      throw new TributaryError(ErrorCodes.REPO_NOT_FOUND, `no repository with id ${id}`, { details: { repoId: id } });
    }
    return row;
  }
}

function validName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `a repository name must be a non-empty string, got ${JSON.stringify(name)}`, {
      details: { name },
    });
  }
  return name;
}

function toRecord(row: RepositoryRow): RepositoryRecord {
  return {
    id: row.id,
    name: row.name,
    importer: row.importer,
    feedUrl: row.feed_url,
    policy: row.policy as RepositoryRecord['policy'],
    config: row.config === null ? null : JSON.parse(row.config),
    description: row.description,
    retainVersions: row.retain_versions ?? null,
    latestVersion: row.latest_version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
