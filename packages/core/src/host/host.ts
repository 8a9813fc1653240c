import type { DependencyContainer } from 'tsyringe';
import {
  canonicalUnitKey,
  ErrorCodes,
  TributaryError,
  type CountsByType,
  type ImporterPlugin,
  type UnitKey,
} from '@tributary/plugin-api';
import { randomUUID } from 'node:crypto';
import { PluginRegistry } from './plugin-registry.js';
import { withoutCredentials } from '../download/url-credentials.js';
import { ArtifactStorage } from '../storage/artifact-storage.js';
import type { ContentStore, RepositoryInput, RepositoryRecord, RepoUnitView, SyncRecord, VersionChange, VersionChangeCounts } from '../store/content-store.js';
import { unitIdFor } from '../store/unit-id.js';
import { LeaseKeeper } from '../sync/lease-keeper.js';
import { CleanupLease } from '../sync/cleanup-gate.js';
import type { ChangeOutcome, CopyOptions, RepositoryChanges, UnitSelection } from '../versions/repository-changes.js';
import { VersionHistory, type VersionView } from '../versions/version-history.js';
import type { SyncService, SyncOptions, SyncOutcome } from '../sync/sync-service.js';
import type { RemoteOptions } from '../download/index.js';
import { Distributions } from '../publish/distributions.js';
import { HostEvents, type HostEventSource } from '../events/host-events.js';
import type { HostEventMap, HostEventName } from '../events/host-event-types.js';
import { exportPublication, type ExportResult, type PublicationExportOptions } from '../publish/publication-export.js';
import { PublicationService } from '../publish/publication-service.js';
import type { PublicationRecord } from '../store/content-store.js';
import { CONTENT_STORE, HOST_OPTIONS, type HostOptionsToken } from '../tokens.js';

/** Scratch that names no repository, untouched this long, belongs to a host that crashed. */
const STALE_SCRATCH_MS = 24 * 3600 * 1000;
/** Orphan cleanup keeps what was stored less than this long ago, unless told otherwise. */
export const DEFAULT_PROTECT_MINUTES = 60;

/** A running Tributary host. Create one with `createHost()`. */
export class Host {
  readonly store: ContentStore;
  readonly storage: ArtifactStorage;
  readonly plugins: PluginRegistry;
  /** Publications: versions laid out as file trees by their importer's publisher. */
  readonly publications: PublicationService;
  /** Distributions: base paths the content app serves repositories under. */
  readonly distributions: Distributions;
  /** Typed events: syncs started, finished and failed, versions committed, distributions changed, files fetched on demand. */
  readonly events: HostEventSource;
  private readonly hostEvents: HostEvents;
  private readonly options: HostOptionsToken;
  private syncService: SyncService | undefined;
  private readonly versionHistory: VersionHistory;
  private changeService: RepositoryChanges | undefined;

  constructor(private readonly container: DependencyContainer) {
    this.store = container.resolve<ContentStore>(CONTENT_STORE);
    this.storage = container.resolve(ArtifactStorage);
    this.plugins = container.resolve(PluginRegistry);
    this.options = container.resolve<HostOptionsToken>(HOST_OPTIONS);
    this.versionHistory = new VersionHistory(this.store);
    this.publications = new PublicationService(this.store, this.storage, this.plugins);
    this.hostEvents = container.resolve(HostEvents);
    this.events = this.hostEvents;
    this.distributions = new Distributions(this.store, this.publications, (change, name, view) =>
      this.emit('distribution.changed', { change, name, distribution: view && { basePath: view.basePath, repository: view.repository, version: view.version } }),
    );
  }

  /**
   * Emits a host event to `events` listeners and its `diagnostics_channel`: the hook for host parts
   * built outside this class (the content app's on-demand fetches). Never throws.
   */
  emit<K extends HostEventName>(name: K, event: HostEventMap[K]): void {
    this.hostEvents.emit(name, event);
  }

  /** Adding, removing, copying units and rollbacks; its modules (unit filters) load when first needed. */
  private get changes(): RepositoryChanges {
    return (this.changeService ??= new (require('../versions/repository-changes.js') as typeof import('../versions/repository-changes.js')).RepositoryChanges({
      store: this.store,
      plugins: this.plugins,
      history: this.versionHistory,
      batchSize: this.options.batchSize,
      withLease: (repository, work) => this.withLease(repository, work),
      checkTypeKnown: (typeId, present) => this.checkTypeKnown(typeId, present),
      committed: (event) => this.emit('version.committed', { ...event, by: 'user' }),
    }));
  }

  /** The sync service, whose modules (the pipeline, the downloader) a command that syncs nothing does not load. */
  private get syncs(): SyncService {
    return (this.syncService ??= new (require('../sync/sync-service.js') as typeof import('../sync/sync-service.js')).SyncService(this.container));
  }

  registerPlugin(plugin: unknown, config?: Record<string, unknown>): ImporterPlugin {
    return this.plugins.register(plugin, config);
  }

  async createRepository(input: RepositoryInput): Promise<RepositoryRecord> {
    if (typeof input.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(input.name)) {
      throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `repository name ${JSON.stringify(input.name)} is invalid: use letters, digits, '.', '_' and '-' (up to 128, starting with a letter or digit)`);
    }
    if (input.importer) this.plugins.get(input.importer);
    // credentials in a feed url are not kept: a sync takes them as remote options
    return this.store.createRepository(input.feedUrl ? { ...input, feedUrl: withoutCredentials(input.feedUrl) } : input);
  }

  async getRepository(name: string): Promise<RepositoryRecord> {
    const repository = await this.store.getRepository(name);
    if (!repository) throw new TributaryError(ErrorCodes.REPO_NOT_FOUND, `repository '${name}' does not exist`, { details: { repository: name } });
    return repository;
  }

  listRepositories(): Promise<RepositoryRecord[]> {
    return this.store.listRepositories();
  }

  /** Deletes a repository (not while it syncs) and its working directory; its units become orphans. */
  async deleteRepository(name: string): Promise<void> {
    const repository = await this.getRepository(name);
    await this.withLease(repository, async () => {
      await this.store.deleteRepository(repository.id);
      await this.storage.removeWorkingDir(repository.id);
    });
  }

  sync(name: string, options: SyncOptions = {}): Promise<SyncOutcome> {
    return this.syncs.sync(name, options);
  }

  /**
   * Streams the units of a repository version (default: the latest), by type and then in the
   * order they entered the catalog. A `typeId` no loaded plugin declares and the version does not
   * hold is TRIBUTARY_ERR_UNKNOWN_CONTENT_TYPE, naming the known types.
   */
  async *units(name: string, options: { typeId?: string; version?: number; pageSize?: number } = {}): AsyncGenerator<RepoUnitView> {
    const repository = await this.getRepository(name);
    const version = await this.versionHistory.check(repository, options.version);
    const counts = await this.store.countRepoUnits(repository.id, version);
    const page = options.pageSize !== undefined ? { pageSize: options.pageSize } : {};
    if (options.typeId !== undefined) {
      if (!(options.typeId in counts)) this.checkTypeKnown(options.typeId, counts);
      yield* this.store.repoUnits(repository.id, version, { typeId: options.typeId, ...page });
      return;
    }
    // type by type: a page read within one type seeks to where the last ended, where one across
    // types rescans its type to get there (a listing of 200,000 units took three times as long)
    for (const typeId of Object.keys(counts).sort(compareCodeUnits)) {
      if (counts[typeId]! > 0) yield* this.store.repoUnits(repository.id, version, { typeId, ...page });
    }
  }

  async countUnits(name: string): Promise<CountsByType> {
    const repository = await this.getRepository(name);
    return this.store.countRepoUnits(repository.id, repository.latestVersion);
  }

  async history(name: string, limit = 50): Promise<SyncRecord[]> {
    const repository = await this.getRepository(name);
    return this.store.listSyncRecords(repository.id, limit);
  }

  /**
   * Changes a repository's settings: description, feed url (kept without credentials), importer
   * config, importer, and `retainVersions` (keep only the newest K versions; null keeps all). A
   * retention given applies at once (holding the repository's lease: the versions beyond it are
   * deleted, except those a distribution pins) and after every commit from then on.
   */
  async updateRepository(name: string, patch: RepositoryPatch): Promise<RepositoryUpdate> {
    const repository = await this.getRepository(name);
    if (patch.importer) this.plugins.get(patch.importer);
    const { feedUrl, ...rest } = patch;
    const update = () => this.store.updateRepository(repository.id, { ...rest, ...(feedUrl !== undefined ? { feedUrl: feedUrl === null ? null : withoutCredentials(feedUrl) } : {}) });
    if (typeof patch.retainVersions !== 'number') return { repository: await update(), deletedVersions: [] };
    return this.withLease(repository, async () => {
      const updated = await update();
      return { repository: updated, deletedVersions: await this.versionHistory.applyRetention(updated.id) };
    });
  }

  /**
   * The versions of a repository, oldest first: when each was committed, what made it (a sync, a
   * rollback, a copy, a user's change), the units it holds and what it added and removed against
   * the version before it that is left. Version 0, the empty version every repository starts at,
   * is not listed ({@link version} shows it while it exists).
   */
  async versions(name: string): Promise<VersionView[]> {
    return this.versionHistory.list(await this.getRepository(name));
  }

  /** One version; TRIBUTARY_ERR_VERSION_NOT_FOUND unless the repository has it (deleted ones it has not). */
  async version(name: string, version: number): Promise<VersionView> {
    return this.versionHistory.show(await this.getRepository(name), version);
  }

  /**
   * Streams the units version `to` holds that `from` does not ('added') and those `from` holds that
   * `to` does not ('removed'), by type (every added one, then every removed one); memory stays flat
   * however large the versions. Either may be older.
   */
  async *diffVersions(name: string, from: number, to: number): AsyncGenerator<VersionChange> {
    const repository = await this.getRepository(name);
    await this.versionHistory.check(repository, from);
    await this.versionHistory.check(repository, to);
    yield* this.store.diffVersions(repository.id, from, to);
  }

  /** {@link diffVersions} counted by type. */
  async countVersionChanges(name: string, from: number, to: number): Promise<VersionChangeCounts> {
    const repository = await this.getRepository(name);
    await this.versionHistory.check(repository, from);
    await this.versionHistory.check(repository, to);
    return this.store.countVersionChanges(repository.id, from, to);
  }

  /**
   * Deletes a version (holding the repository's lease): it can no longer be read, and no other
   * version changes. The latest version, and one a distribution serves, cannot be deleted
   * (TRIBUTARY_ERR_VERSION_IN_USE). Units only it held become orphans.
   */
  async deleteVersion(name: string, version: number): Promise<void> {
    const repository = await this.getRepository(name);
    await this.withLease(repository, async () => {
      await this.versionHistory.delete((await this.store.getRepositoryById(repository.id)) ?? repository, version);
    });
  }

  /**
   * Commits a new version holding exactly what `version` holds (history stays linear: nothing is
   * undone in place), holding the repository's lease as a sync does.
   */
  async rollback(name: string, version: number): Promise<ChangeOutcome> {
    return this.changes.rollback(await this.getRepository(name), version);
  }

  /**
   * Adds units of `typeId` the catalog holds to a repository (origin 'user': mirror syncs keep
   * them), chosen by key or by filter (see unit-filter.ts), in one new version. A key the catalog
   * does not hold, or a filter nothing matches, is TRIBUTARY_ERR_UNIT_NOT_FOUND.
   */
  async addUnits(name: string, typeId: string, selection: UnitSelection): Promise<ChangeOutcome> {
    return this.changes.add(await this.getRepository(name), typeId, selection);
  }

  /** Removes units of `typeId` from a repository, by key or by filter, in one new version. */
  async removeUnits(name: string, typeId: string, selection: UnitSelection): Promise<ChangeOutcome> {
    return this.changes.remove(await this.getRepository(name), typeId, selection);
  }

  /**
   * Copies units of a version of `source` (default: its latest; all types, or `typeId`; all, or
   * what `filter` matches) into one new version of `target`, by reference (stored files and
   * remote sources come with the units). `source` may be `target`: e.g. an older version's units back.
   */
  async copyUnits(source: string, target: string, options: CopyOptions = {}): Promise<ChangeOutcome> {
    return this.changes.copy(await this.getRepository(source), await this.getRepository(target), options);
  }

  /**
   * The publication of a version (default: the latest) by the repository's publisher with
   * `options`; built now unless one exists.
   */
  async publish(name: string, options: { version?: number; options?: Readonly<Record<string, unknown>>; signal?: AbortSignal } = {}): Promise<PublicationRecord> {
    const repository = await this.getRepository(name);
    const version = await this.versionHistory.check(repository, options.version);
    return this.publications.publish(repository, { ...options, version });
  }

  /**
   * Writes a version's publication (default: the latest's) into `directory`, which must be empty
   * unless `clean`. Bytes of on-demand files are fetched (with `remote`'s settings) and kept.
   */
  async exportRepository(name: string, directory: string, options: ExportOptions = {}): Promise<ExportResult> {
    const publication = await this.publish(name, options);
    const repository = await this.getRepository(name);
    // the downloader's modules load with the first export, not with every host
    const { OnDemandArtifacts } = require('../publish/on-demand-artifacts.js') as typeof import('../publish/on-demand-artifacts.js');
    const onDemand = new OnDemandArtifacts(this.store, this.storage, options.remote ?? {}, (entry, record) =>
      this.emit('artifact.fetched', { via: 'export', path: entry.path, sha256: record.sha256, size: record.size, unitId: entry.unitId }),
    );
    try {
      return await exportPublication(this.store, this.storage, onDemand, repository, publication, directory, options);
    } finally {
      await onDemand.close();
    }
  }

  /** A user adds existing units to a repository (origin 'user': mirror syncs keep them). Commits a new version. */
  async associateUnits(name: string, typeId: string, keys: readonly UnitKey[]): Promise<number> {
    return this.changeByUser(name, typeId, keys, 'associate');
  }

  /** A user removes units from a repository by key. Commits a new version. */
  async unassociateUnits(name: string, typeId: string, keys: readonly UnitKey[]): Promise<number> {
    return this.changeByUser(name, typeId, keys, 'unassociate');
  }

  /**
   * Removes units in no repository version and artifacts of no unit (refused while any sync, or
   * other change of a repository, holds a lease), and the scratch and staged files of syncs that
   * can no longer be running: their repository's lease expired or is held by another sync
   * (whatever their age); scratch that names no repository once untouched for a day. Units and
   * artifacts stored less than `protectMinutes` ago (default 60) are kept: what a change being made
   * right now (an export or the content app fetching on demand, a sync about to associate) refers
   * to is safe.
   *
   * It holds the orphan-cleanup lease throughout (cleanup-gate.ts): taken before the repository
   * leases are checked, so a sync starting meanwhile waits for it instead of re-using an artifact
   * about to be deleted.
   */
  async cleanupOrphans(options: { protectMinutes?: number } = {}): Promise<{ units: number; artifacts: number; tempScopes: number; stagedFiles: number; publications: number }> {
    const protectMinutes = options.protectMinutes ?? DEFAULT_PROTECT_MINUTES;
    if (typeof protectMinutes !== 'number' || !Number.isFinite(protectMinutes) || protectMinutes < 0) {
      throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `protectMinutes must be a number of minutes of at least 0, got ${JSON.stringify(protectMinutes)}`, { details: { protectMinutes } });
    }
    const gate = new CleanupLease(this.store, `${this.options.hostId}:${randomUUID()}`, this.options.leaseTtlMs);
    await gate.acquire();
    try {
      for (const repository of await this.store.listRepositories()) {
        const lease = await this.store.getLease(repository.id);
        if (lease && lease.expiresAt > Date.now()) {
          throw new TributaryError(ErrorCodes.REPO_BUSY, `repository '${repository.name}' is syncing; orphan cleanup never runs during a sync — try again when it finishes`, {
            details: { repository: repository.name },
          });
        }
      }
      const publications = await this.prunePublications(Date.now() - protectMinutes * 60_000);
      const { units, artifacts } = await this.store.deleteOrphans({ storedBefore: Date.now() - protectMinutes * 60_000 });
      await this.storage.remove(artifacts);
      const { scopes: tempScopes, stagedFiles } = await this.storage.sweepLeftovers(
        async ({ scopeId, owner, idleMs }) => {
          if (owner === undefined) return idleMs > STALE_SCRATCH_MS;
          const lease = await this.store.getLease(owner);
          return !(lease !== undefined && lease.expiresAt > Date.now() && lease.holder.endsWith(`:${scopeId}`));
        },
        { strayParts: true, strayAfterMs: STALE_SCRATCH_MS },
      );
      return { units, artifacts: artifacts.length, tempScopes, stagedFiles, publications };
    } finally {
      await gate.release();
    }
  }

  /**
   * Deletes publications nothing serves, created before `before`: every one but the newest complete
   * one of each repository and publisher, and those of versions a distribution pins. They are built
   * again if asked for; their entries (a row per file) would otherwise pile up with every version.
   */
  private async prunePublications(before: number): Promise<number> {
    const pinned = new Set((await this.store.listDistributions()).filter((d) => d.version !== null).map((d) => `${d.repoId}\0${d.version}`));
    let deleted = 0;
    for (const repository of await this.store.listRepositories()) {
      const newest = new Set<string>();
      for (const publication of await this.store.listPublications(repository.id)) {
        const keep =
          Date.parse(publication.createdAt) >= before ||
          pinned.has(`${repository.id}\0${publication.version}`) ||
          (publication.complete && !newest.has(publication.publisherKey) && newest.add(publication.publisherKey));
        if (keep) continue;
        await this.store.deletePublication(publication.id);
        deleted++;
      }
    }
    return deleted;
  }

  async close(): Promise<void> {
    // together: ending each one's thread can take a tenth of a second, and neither waits on the other
    const [store, storage] = await Promise.allSettled([this.store.close(), this.storage.close()]);
    this.container.clearInstances();
    if (store.status === 'rejected') throw store.reason;
    if (storage.status === 'rejected') throw storage.reason;
  }

  private async changeByUser(name: string, typeId: string, keys: readonly UnitKey[], change: 'associate' | 'unassociate'): Promise<number> {
    const repository = await this.getRepository(name);
    const type = this.plugins.contentType(typeId);
    const ids = keys.map((key) => unitIdFor(typeId, canonicalUnitKey(type, key)));
    return this.withLease(repository, async () => {
      const version = await this.store.beginVersion(repository.id);
      try {
        let changed = 0;
        for (let i = 0; i < ids.length; i += this.options.batchSize) {
          const chunk = ids.slice(i, i + this.options.batchSize);
          if (change === 'associate') {
            const found = await this.store.findUnits(chunk);
            if (found.length !== chunk.length) {
              const known = new Set(found.map((u) => u.unitId));
              const missing = keys[ids.findIndex((id, j) => j >= i && !known.has(id))];
              throw new TributaryError(ErrorCodes.UNIT_NOT_FOUND, `no '${typeId}' unit with key ${JSON.stringify(missing)} is stored; sync it into some repository first`);
            }
            changed += total(await this.store.associate(repository.id, version, chunk.map((unitId, j) => ({ unitId, typeId, key: keys[i + j]! })), 'user'));
          } else {
            changed += total(await this.store.unassociate(repository.id, version, chunk));
          }
        }
        if (changed > 0) {
          await this.store.commitVersion(repository.id, version);
          await this.versionHistory.committed(repository, version, { kind: 'modify', note: `${change === 'associate' ? 'add' : 'remove'} '${typeId}' units by key` });
          const counts = { [typeId]: changed };
          this.emit('version.committed', { repository: name, version, by: 'user', added: change === 'associate' ? counts : {}, removed: change === 'unassociate' ? counts : {} });
        } else await this.store.rollbackVersion(repository.id, version);
        return changed;
      } catch (error) {
        await this.store.rollbackVersion(repository.id, version).catch(() => undefined);
        throw error;
      }
    });
  }

  /** TRIBUTARY_ERR_UNKNOWN_CONTENT_TYPE for a type no plugin declares, naming those that are known. */
  private checkTypeKnown(typeId: string, present: CountsByType): void {
    const known = new Set([...this.plugins.list().flatMap((p) => p.contentTypes.map((t) => t.id)), ...Object.keys(present)]);
    if (known.has(typeId)) return;
    throw new TributaryError(ErrorCodes.UNKNOWN_CONTENT_TYPE, `unknown content type '${typeId}'; known types: ${[...known].sort(compareCodeUnits).join(', ') || 'none'}`, {
      details: { typeId, knownTypes: [...known].sort(compareCodeUnits) },
    });
  }

  private async withLease<T>(repository: RepositoryRecord, work: () => Promise<T>): Promise<T> {
    const lease = new LeaseKeeper(this.store, repository.id, `${this.options.hostId}:${randomUUID()}`, this.options.leaseTtlMs);
    if (!(await lease.acquire())) {
      throw new TributaryError(ErrorCodes.REPO_BUSY, `repository '${repository.name}' is being synced by another process; try again when it finishes`, { details: { repository: repository.name } });
    }
    try {
      return await work();
    } finally {
      await lease.release();
    }
  }
}

export interface ExportOptions extends PublicationExportOptions {
  /** The version to export (default: the latest). */
  readonly version?: number;
  /** Options for the repository's publisher. */
  readonly options?: Readonly<Record<string, unknown>>;
  /** Settings for fetching on-demand bytes (TLS, proxy, credentials). */
  readonly remote?: RemoteOptions;
}

/** A repository's settings after {@link Host.updateRepository}, and the versions its retention deleted there and then. */
export interface RepositoryUpdate {
  readonly repository: RepositoryRecord;
  readonly deletedVersions: readonly number[];
}

/** What {@link Host.updateRepository} may change; a field left out is kept. */
export type RepositoryPatch = Partial<Pick<RepositoryInput, 'description' | 'feedUrl' | 'config' | 'importer' | 'retainVersions'>>;

/** The order SQLite's binary collation sorts type ids in (UTF-16 code units agree for the ASCII ids types have). */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function total(counts: CountsByType): number {
  let n = 0;
  for (const v of Object.values(counts)) n += v;
  return n;
}
