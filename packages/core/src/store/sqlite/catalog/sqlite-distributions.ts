import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import type { DistributionInput, DistributionRecord } from '../../content-store.js';
import type { SqliteStatements } from './sqlite-statements.js';

interface DistributionRow {
  name: string;
  base_path: string;
  repo_id: string;
  version: number | null;
  publish_options: string;
  created_at: string;
  updated_at: string;
}

/**
 * Distributions (schema migration 7): a name and a base path serving a repository. Runs inside the
 * store's write transactions, so checking a name or base path and then writing is atomic; the
 * unique keys stand behind the checks.
 */
export class SqliteDistributions {
  constructor(private readonly sql: SqliteStatements) {}

  create(input: DistributionInput): DistributionRecord {
    const name = nonEmpty('name', input.name);
    const basePath = nonEmpty('base path', input.basePath);
    if (this.row(name) !== undefined) {
      throw new TributaryError(ErrorCodes.DISTRIBUTION_EXISTS, `a distribution named '${name}' already exists`, { details: { name } });
    }
    this.refuseTakenBasePath(name, basePath);
    const now = new Date().toISOString();
    const row: DistributionRow = {
      name,
      base_path: basePath,
      repo_id: input.repoId,
      version: input.version ?? null,
      publish_options: JSON.stringify(input.publishOptions ?? {}),
      created_at: now,
      updated_at: now,
    };
    this.sql
      .prepare(
        `INSERT INTO distributions (name, base_path, repo_id, version, publish_options, created_at, updated_at)
         VALUES (@name, @base_path, @repo_id, @version, @publish_options, @created_at, @updated_at)`,
      )
      .run(row);
    return toRecord(row);
  }

  get(name: string): DistributionRecord | undefined {
    const row = this.row(name);
    return row && toRecord(row);
  }

  list(): DistributionRecord[] {
    return (this.sql.prepare('SELECT * FROM distributions ORDER BY name').all() as DistributionRow[]).map(toRecord);
  }

  update(name: string, patch: Partial<Omit<DistributionInput, 'name'>>): DistributionRecord {
    const row = this.row(name);
    if (row === undefined) {
      throw new TributaryError(ErrorCodes.DISTRIBUTION_NOT_FOUND, `no distribution named '${name}' to update`, { details: { name } });
    }
    const next: DistributionRow = { ...row, updated_at: new Date().toISOString() };
    if (patch.basePath !== undefined && patch.basePath !== row.base_path) {
      next.base_path = nonEmpty('base path', patch.basePath);
      this.refuseTakenBasePath(name, next.base_path);
    }
    if (patch.repoId !== undefined) next.repo_id = patch.repoId;
    if (patch.version !== undefined) next.version = patch.version;
    if (patch.publishOptions !== undefined) next.publish_options = JSON.stringify(patch.publishOptions);
    this.sql
      .prepare(
        `UPDATE distributions SET base_path = @base_path, repo_id = @repo_id, version = @version,
         publish_options = @publish_options, updated_at = @updated_at WHERE name = @name`,
      )
      .run(next);
    return toRecord(next);
  }

  delete(name: string): boolean {
    return this.sql.prepare('DELETE FROM distributions WHERE name = ?').run(name).changes > 0;
  }

  private row(name: string): DistributionRow | undefined {
    return this.sql.prepare('SELECT * FROM distributions WHERE name = ?').get(name) as DistributionRow | undefined;
  }

  private refuseTakenBasePath(name: string, basePath: string): void {
    const holder = this.sql.prepare('SELECT name FROM distributions WHERE base_path = ? AND name <> ?').get(basePath, name) as
      | { name: string }
      | undefined;
    if (holder !== undefined) {
      throw new TributaryError(
        ErrorCodes.BASE_PATH_CONFLICT,
        `base path '${basePath}' is already served by distribution '${holder.name}'; choose another base path for '${name}'`,
        { details: { name, basePath, distribution: holder.name } },
      );
    }
  }
}

function nonEmpty(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `a distribution's ${what} must be a non-empty string, got ${JSON.stringify(value)}`, {
      details: { [what === 'name' ? 'name' : 'basePath']: value },
    });
  }
  return value;
}

function toRecord(row: DistributionRow): DistributionRecord {
  return {
    name: row.name,
    basePath: row.base_path,
    repoId: row.repo_id,
    version: row.version,
    publishOptions: JSON.parse(row.publish_options) as Record<string, unknown>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
