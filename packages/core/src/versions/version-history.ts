import { ErrorCodes, TributaryError, type CountsByType } from '@tributary/plugin-api';
import type { ContentStore, RepositoryRecord, VersionChangeCounts, VersionKind, VersionRecord } from '../store/content-store.js';

/** A version as `versions` shows it. */
export interface VersionView {
  readonly version: number;
  /** When it was committed; null for a version committed before records were kept and made by no recorded sync. */
  readonly createdAt: string | null;
  /** What made it ('empty': version 0, which every repository starts at). */
  readonly kind: VersionKind | 'empty';
  /** The sync's history record (kind 'sync'). */
  readonly syncId: string | null;
  readonly note: string | null;
  /** Units it holds, by type. */
  readonly counts: CountsByType;
  /** The version `added` and `removed` compare with: the previous version that is left; null: none (the empty state). */
  readonly base: number | null;
  readonly added: CountsByType;
  readonly removed: CountsByType;
}

/** What made a version being committed. */
export interface VersionOrigin {
  readonly kind: VersionKind;
  readonly syncId?: string | null;
  readonly note?: string | null;
}

/** What a commit's bookkeeping did: versions deleted by retention; what failed (the commit stands). */
export interface CommitBookkeeping {
  readonly deleted: readonly number[];
  readonly warnings: readonly string[];
}

/**
 * The versions of repositories as users see them: which exist (0 to the latest, less the deleted
 * ones), what made each (a record written at commit), deleting one, and retention. Writers hold the
 * repository's lease.
 */
export class VersionHistory {
  constructor(private readonly store: ContentStore) {}

  /**
   * After `version` was committed: records what made it (its counts follow from its base's record
   * and the rows that changed (`counted`, when the caller has them), without reading the whole
   * version when the base has a record),
   * then deletes the versions beyond the repository's retention. A failure here does not undo the
   * commit: it is returned as a warning.
   */
  async committed(repository: RepositoryRecord, version: number, origin: VersionOrigin, counted?: VersionChangeCounts): Promise<CommitBookkeeping> {
    const warnings: string[] = [];
    try {
      const changes = counted ?? (await this.store.countVersionChanges(repository.id, version - 1, version));
      const before = version - 1 === 0 ? { counts: {}, deletedAt: null } : await this.store.getVersionRecord(repository.id, version - 1);
      const counts =
        before !== undefined && before.deletedAt === null ? applied(before.counts, changes.added, changes.removed) : await this.store.countRepoUnits(repository.id, version);
      await this.store.recordVersion({
        repoId: repository.id,
        version,
        createdAt: new Date().toISOString(),
        kind: origin.kind,
        syncId: origin.syncId ?? null,
        note: origin.note ?? null,
        counts,
        base: version - 1,
        added: changes.added,
        removed: changes.removed,
      });
    } catch (error) {
      warnings.push(`version ${version} was committed, but what made it could not be recorded: ${(error as Error).message}`);
    }
    let deleted: number[] = [];
    try {
      deleted = await this.applyRetention(repository.id);
    } catch (error) {
      warnings.push(`version ${version} was committed, but retention could not delete older versions: ${(error as Error).message}`);
    }
    return { deleted, warnings };
  }

  /**
   * Deletes the versions older than the newest `retainVersions` (version 0 counts as one), except
   * those a distribution pins; returns the numbers deleted.
   */
  async applyRetention(repoId: string): Promise<number[]> {
    const repository = await this.store.getRepositoryById(repoId);
    if (repository === undefined || repository.retainVersions === null) return [];
    const existing = await this.existing(repository);
    const beyond = existing.slice(0, Math.max(0, existing.length - repository.retainVersions));
    if (beyond.length === 0) return [];
    const pinned = new Set((await this.store.listDistributions()).filter((d) => d.repoId === repoId && d.version !== null).map((d) => d.version!));
    const deleted: number[] = [];
    for (const version of beyond) {
      if (pinned.has(version)) continue;
      await this.store.deleteVersion(repoId, version);
      deleted.push(version);
    }
    if (deleted.length > 0) await this.rebase(repository);
    return deleted;
  }

  /** Deletes one version (see the store's rules) and compares the next one with what is left before it. */
  async delete(repository: RepositoryRecord, version: number): Promise<{ rows: number }> {
    const result = await this.store.deleteVersion(repository.id, version);
    await this.rebase(repository);
    return result;
  }

  /** The versions there are, oldest first, without version 0 (the empty one every repository starts at). */
  async list(repository: RepositoryRecord): Promise<VersionView[]> {
    const records = await this.store.listVersionRecords(repository.id);
    const byVersion = new Map(records.map((r) => [r.version, r]));
    const existing = existingVersions(repository, records);
    const views: VersionView[] = [];
    let syncs: Awaited<ReturnType<ContentStore['listSyncRecords']>> | undefined;
    for (let i = 0; i < existing.length; i++) {
      const version = existing[i]!;
      if (version === 0) continue;
      const base = i > 0 ? existing[i - 1]! : null;
      const record = byVersion.get(version);
      if (record !== undefined) views.push(viewOf(record));
      else {
        syncs ??= await this.store.listSyncRecords(repository.id, 1000);
        views.push(await this.unrecorded(repository, version, base, syncs));
      }
    }
    return views;
  }

  /** One version; TRIBUTARY_ERR_VERSION_NOT_FOUND unless the repository has it. */
  async show(repository: RepositoryRecord, version: number): Promise<VersionView> {
    await this.check(repository, version);
    if (version === 0) return { version: 0, createdAt: repository.createdAt, kind: 'empty', syncId: null, note: null, counts: {}, base: null, added: {}, removed: {} };
    const record = await this.store.getVersionRecord(repository.id, version);
    if (record !== undefined) return viewOf(record);
    const existing = existingVersions(repository, await this.store.listVersionRecords(repository.id));
    const at = existing.indexOf(version);
    return this.unrecorded(repository, version, at > 0 ? existing[at - 1]! : null, await this.store.listSyncRecords(repository.id, 1000));
  }

  /**
   * `version`, or the latest when undefined, once checked: TRIBUTARY_ERR_VERSION_NOT_FOUND unless
   * the repository has it (0 to the latest, and not deleted).
   */
  async check(repository: RepositoryRecord, version: number | undefined): Promise<number> {
    const checked = version ?? repository.latestVersion;
    if (!Number.isInteger(checked) || checked < 0 || checked > repository.latestVersion) {
      throw new TributaryError(ErrorCodes.VERSION_NOT_FOUND, `repository '${repository.name}' has versions 0..${repository.latestVersion}, not ${checked}`, {
        details: { repository: repository.name, version: checked },
      });
    }
    if (checked !== repository.latestVersion) {
      const record = await this.store.getVersionRecord(repository.id, checked);
      if (record !== undefined && record.deletedAt !== null) {
        throw new TributaryError(ErrorCodes.VERSION_NOT_FOUND, `version ${checked} of repository '${repository.name}' was deleted (at ${record.deletedAt})`, {
          details: { repository: repository.name, version: checked, deletedAt: record.deletedAt },
        });
      }
    }
    return checked;
  }

  /** The versions there are (0 included), oldest first. */
  async existing(repository: RepositoryRecord): Promise<number[]> {
    return existingVersions(repository, await this.store.listVersionRecords(repository.id));
  }

  /**
   * Each recorded version left compares with the version left before it: after a deletion, the
   * next version's changes are counted again against its new base (from the rows that differ).
   */
  private async rebase(repository: RepositoryRecord): Promise<void> {
    const current = (await this.store.getRepositoryById(repository.id)) ?? repository;
    const records = await this.store.listVersionRecords(repository.id);
    const existing = existingVersions(current, records);
    const byVersion = new Map(records.map((r) => [r.version, r]));
    for (let i = 0; i < existing.length; i++) {
      const record = byVersion.get(existing[i]!);
      if (record === undefined || record.deletedAt !== null) continue;
      const base = i > 0 ? existing[i - 1]! : null;
      if (record.base === base) continue;
      const changes = base === null ? { added: record.counts, removed: {} } : await this.store.countVersionChanges(repository.id, base, record.version);
      const { deletedAt: _, ...input } = record;
      await this.store.recordVersion({ ...input, base, added: changes.added, removed: changes.removed });
    }
  }

  /** The view of a version committed before records were kept: counted now; a sync whose result it was, if history has one. */
  private async unrecorded(repository: RepositoryRecord, version: number, base: number | null, syncs: Awaited<ReturnType<ContentStore['listSyncRecords']>>): Promise<VersionView> {
    const counts = await this.store.countRepoUnits(repository.id, version);
    const changes = base === null ? { added: counts, removed: {} } : await this.store.countVersionChanges(repository.id, base, version);
    const sync = syncs.find((s) => s.status === 'succeeded' && s.version === version && s.resultVersion === version);
    return {
      version,
      createdAt: sync?.finishedAt ?? null,
      kind: sync ? 'sync' : 'unknown',
      syncId: sync?.id ?? null,
      note: null,
      counts,
      base,
      added: changes.added,
      removed: changes.removed,
    };
  }
}

/** 0 to the latest, less the deleted ones. */
function existingVersions(repository: RepositoryRecord, records: readonly VersionRecord[]): number[] {
  const deleted = new Set(records.filter((r) => r.deletedAt !== null).map((r) => r.version));
  const versions: number[] = [];
  for (let v = 0; v <= repository.latestVersion; v++) if (!deleted.has(v)) versions.push(v);
  return versions;
}

function viewOf(record: VersionRecord): VersionView {
  return {
    version: record.version,
    createdAt: record.createdAt,
    kind: record.kind,
    syncId: record.syncId,
    note: record.note,
    counts: record.counts,
    base: record.base,
    added: record.added,
    removed: record.removed,
  };
}

/** `counts` with `added` added and `removed` taken away (types that reach 0 are left out). */
function applied(counts: CountsByType, added: CountsByType, removed: CountsByType): CountsByType {
  const result: Record<string, number> = { ...counts };
  for (const [type, n] of Object.entries(added)) result[type] = (result[type] ?? 0) + n;
  for (const [type, n] of Object.entries(removed)) result[type] = (result[type] ?? 0) - n;
  for (const type of Object.keys(result)) if (result[type]! <= 0) delete result[type];
  return result;
}
