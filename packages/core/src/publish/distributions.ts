import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import type { ContentStore, DistributionRecord, RepositoryRecord } from '../store/content-store.js';
import type { PublicationService } from './publication-service.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._~-]*$/;
const MAX_BASE_PATH = 512;

export interface DistributionSpec {
  readonly basePath: string;
  readonly repository: string;
  /** A fixed version; absent or null follows the latest. */
  readonly version?: number | null;
  readonly publishOptions?: Readonly<Record<string, unknown>>;
}

/** A distribution as users see it: the repository by name. */
export interface DistributionView {
  readonly name: string;
  readonly basePath: string;
  /** null when the repository was deleted: the distribution serves nothing until updated. */
  readonly repository: string | null;
  readonly version: number | null;
  readonly publishOptions: Readonly<Record<string, unknown>>;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * `a/b/c`: segments of letters, digits, `.`, `_`, `~` and `-` (not starting with `.` or `-`), no
 * empty segment, at most 512 characters. TRIBUTARY_ERR_INVALID_ARGUMENT otherwise.
 */
export function checkBasePath(basePath: unknown): string {
  const text = typeof basePath === 'string' ? basePath.replace(/^\/+|\/+$/g, '') : '';
  const segments = text.split('/');
  if (text.length === 0 || text.length > MAX_BASE_PATH || segments.some((s) => !SEGMENT.test(s))) {
    throw new TributaryError(
      ErrorCodes.INVALID_ARGUMENT,
      `base path ${JSON.stringify(basePath)} is invalid: use '/'-separated segments of letters, digits, '.', '_', '~' and '-' (not starting with '.' or '-'), up to ${MAX_BASE_PATH} characters`,
      { details: { basePath: String(basePath).slice(0, 600) } },
    );
  }
  return text;
}

/** A distribution was created, updated (`view` is what it serves now) or deleted (`view` null). */
export type DistributionChange = (change: 'created' | 'updated' | 'deleted', name: string, view: DistributionView | null) => void;

/** Creates, changes and lists distributions, checking what the catalog cannot. */
export class Distributions {
  constructor(
    private readonly store: ContentStore,
    private readonly publications: PublicationService,
    private readonly changed: DistributionChange = () => undefined,
  ) {}

  async create(name: string, spec: DistributionSpec): Promise<DistributionView> {
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `distribution name ${JSON.stringify(name)} is invalid: use letters, digits, '.', '_' and '-' (up to 128, starting with a letter or digit)`);
    }
    const basePath = checkBasePath(spec.basePath);
    await this.checkNesting(basePath, undefined);
    const repository = await this.repository(spec.repository);
    const version = await checkVersion(this.store, repository, spec.version ?? null);
    const publishOptions = this.publications.publisherFor(repository, spec.publishOptions ?? {}).options;
    const record = await this.store.createDistribution({ name, basePath, repoId: repository.id, version, publishOptions });
    return this.told('created', await this.view(record));
  }

  async get(name: string): Promise<DistributionView> {
    return this.view(await this.record(name));
  }

  async list(): Promise<DistributionView[]> {
    const records = await this.store.listDistributions();
    const names = new Map((await this.store.listRepositories()).map((r) => [r.id, r.name]));
    return records.map((r) => toView(r, names.get(r.repoId) ?? null)).sort((a, b) => (a.basePath < b.basePath ? -1 : a.basePath > b.basePath ? 1 : 0));
  }

  async update(name: string, patch: Partial<DistributionSpec>): Promise<DistributionView> {
    const current = await this.record(name);
    const changes: { basePath?: string; repoId?: string; version?: number | null; publishOptions?: Readonly<Record<string, unknown>> } = {};
    if (patch.basePath !== undefined) {
      changes.basePath = checkBasePath(patch.basePath);
      await this.checkNesting(changes.basePath, name);
    }
    let repository: RepositoryRecord | undefined;
    if (patch.repository !== undefined) {
      repository = await this.repository(patch.repository);
      changes.repoId = repository.id;
    } else {
      repository = await this.store.getRepositoryById(current.repoId);
    }
    if (patch.version !== undefined || patch.repository !== undefined || patch.publishOptions !== undefined) {
      if (!repository) {
        throw new TributaryError(ErrorCodes.REPO_NOT_FOUND, `the repository of distribution '${name}' was deleted; give --repository to point it at another`);
      }
      const version = patch.version !== undefined ? patch.version : patch.repository !== undefined ? null : current.version;
      changes.version = await checkVersion(this.store, repository, version);
      changes.publishOptions = this.publications.publisherFor(repository, patch.publishOptions ?? (patch.repository !== undefined ? {} : current.publishOptions)).options;
    }
    return this.told('updated', await this.view(await this.store.updateDistribution(name, changes)));
  }

  async delete(name: string): Promise<void> {
    if (!(await this.store.deleteDistribution(name))) await this.record(name);
    this.changed('deleted', name, null);
  }

  private told(change: 'created' | 'updated', view: DistributionView): DistributionView {
    this.changed(change, view.name, view);
    return view;
  }

  private async record(name: string): Promise<DistributionRecord> {
    const record = await this.store.getDistribution(name);
    if (!record) throw new TributaryError(ErrorCodes.DISTRIBUTION_NOT_FOUND, `distribution '${name}' does not exist`, { details: { distribution: name } });
    return record;
  }

  private async repository(name: string): Promise<RepositoryRecord> {
    const repository = await this.store.getRepository(name);
    if (!repository) throw new TributaryError(ErrorCodes.REPO_NOT_FOUND, `repository '${name}' does not exist`, { details: { repository: name } });
    return repository;
  }

  /** One base path may not lie inside another: a request path must name one distribution. */
  private async checkNesting(basePath: string, except: string | undefined): Promise<void> {
    for (const other of await this.store.listDistributions()) {
      if (other.name === except) continue;
      const a = `${basePath}/`;
      const b = `${other.basePath}/`;
      if (a === b || a.startsWith(b) || b.startsWith(a)) {
        throw new TributaryError(ErrorCodes.BASE_PATH_CONFLICT, `base path '${basePath}' overlaps '${other.basePath}' of distribution '${other.name}'; base paths may not equal or contain one another`, {
          details: { basePath, other: other.basePath, distribution: other.name },
        });
      }
    }
  }

  private async view(record: DistributionRecord): Promise<DistributionView> {
    const repository = await this.store.getRepositoryById(record.repoId);
    return toView(record, repository?.name ?? null);
  }
}

function toView(record: DistributionRecord, repository: string | null): DistributionView {
  return {
    name: record.name,
    basePath: record.basePath,
    repository,
    version: record.version,
    publishOptions: record.publishOptions,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** A fixed version the repository has (not deleted), or null: TRIBUTARY_ERR_VERSION_NOT_FOUND otherwise. */
async function checkVersion(store: ContentStore, repository: RepositoryRecord, version: number | null): Promise<number | null> {
  if (version === null) return null;
  if (!Number.isInteger(version) || version < 0 || version > repository.latestVersion) {
    throw new TributaryError(ErrorCodes.VERSION_NOT_FOUND, `repository '${repository.name}' has versions 0..${repository.latestVersion}, not ${version}`, {
      details: { repository: repository.name, version },
    });
  }
  const record = version === repository.latestVersion ? undefined : await store.getVersionRecord(repository.id, version);
  if (record !== undefined && record.deletedAt !== null) {
    throw new TributaryError(ErrorCodes.VERSION_NOT_FOUND, `version ${version} of repository '${repository.name}' was deleted (at ${record.deletedAt})`, {
      details: { repository: repository.name, version, deletedAt: record.deletedAt },
    });
  }
  return version;
}
