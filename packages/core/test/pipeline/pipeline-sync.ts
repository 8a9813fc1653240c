import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  canonicalUnitKey,
  defineImporter,
  type ArtifactRecord,
  type CountsByType,
  type DownloadedFile,
  type ExistingRemoteSource,
  type ExistingUnit,
  type RemoteFetcher,
  type RepoUnitKey,
  type SyncSettings,
  type UnitInput,
  type UnitKey,
  type UnitRef,
} from '@tributary/plugin-api';
import type { DependencyContainer } from 'tsyringe';
import type { RepoConduit } from '../../src/conduit/repo-conduit';
import { sourceContextOf } from '../../src/conduit/source-digest';
import type { SyncScope } from '../../src/conduit/sync-scope';
import { redactUrl } from '../../src/download/index';
import { hostContainer } from '../../src/host/create-host';
import { PluginRegistry } from '../../src/host/plugin-registry';
import type { PipelineContext } from '../../src/pipeline/index';
import type { ResyncService } from '../../src/resync/resync-service';
import { ArtifactStorage } from '../../src/storage/artifact-storage';
import type { RepositoryRecord, UpsertStatus, UnitWrite } from '../../src/store/content-store';
import { SqliteContentStore } from '../../src/store/sqlite/sqlite-content-store';
import { unitIdFor } from '../../src/store/unit-id';
import { SyncReportBuilder } from '../../src/sync/sync-report-builder';
import { createSyncSession } from '../../src/sync/sync-session';
import { MemoryFetcher, type BodyStaging } from './memory-fetcher';
import { settings as defaultSettings } from './stage-harness';

/**
 * The importer whose content types the stage tests use. Keys are canonicalised per `keyFields`
 * and no type has a metadata schema, so any metadata is accepted.
 */
export const pipelineTestImporter = defineImporter({
  name: 'pipeline-test',
  version: '1.0.0',
  hostApi: '^1.0.0',
  contentTypes: [
    // as the file importer keys its files
    { id: 'file', keyFields: ['relativePath', 'sha256'] },
    // a file known by its path alone
    { id: 'doc', keyFields: ['relativePath'] },
    { id: 'meta', keyFields: ['name'] },
    { id: 'pkg', keyFields: ['name'] },
    { id: 'erratum', keyFields: ['id'] },
    { id: 'rpm', keyFields: ['name', 'version'] },
  ],
  async sync() {
    // the tests drive the stages themselves
  },
});

export interface PipelineSyncOptions {
  /** The host's batch size: units per store round trip of the conduit (default 1000, as createHost). */
  readonly batchSize?: number;
  /** Settings of the syncs (default: immediate from http://upstream.test/repo/, no mirror). */
  readonly settings?: Partial<SyncSettings>;
}

export interface ContextOptions {
  readonly fetcher?: RemoteFetcher;
  readonly settings?: Partial<SyncSettings>;
  readonly batchSize?: number;
  readonly downloadConcurrency?: number;
}

/** A remote source as the store holds it, with the unit it belongs to. */
export interface StoredRemote extends ExistingRemoteSource {
  readonly unitId: string;
}

/** Conduit calls `calls` counts, by method name. */
const COUNTED = new Set<string>([
  'unitKeysForRepo',
  'requestUnitFilename',
  'addOrUpdateUnits',
  'associateUnits',
  'associateUnitsFrom',
  'unassociateUnits',
  'saveUnits',
  'findUnits',
  'findUnitsByKey',
  'findArtifacts',
  'saveArtifacts',
  'saveRemoteArtifacts',
  'unassociateUnseen',
]);

const ALL_DIGESTS = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const;

/** One sync under way: its version, scope and session (RepoConduit + ResyncService). */
interface Running {
  readonly scope: SyncScope;
  readonly conduit: RepoConduit;
  /** `conduit` seen through the call counter: what tests and stages get. */
  readonly counted: RepoConduit;
  readonly resync: ResyncService;
  readonly abort: AbortController;
  readonly report: SyncReportBuilder;
}

/**
 * The production path of one repository's syncs, for stage tests: a SQLite catalog file and
 * artifact storage in a temp dir, a host container (hostContainer) with {@link pipelineTestImporter}
 * registered, and a sync session (createSyncSession: RepoConduit + ResyncService) writing version
 * N+1 of repository 'r' on top of version N, its scope built as SyncService.runImporter builds it.
 *
 * {@link commit} commits the version being written and begins the next one with a new session, as
 * the next sync would: take `conduit`, `resync` and `context()` anew after it. Inspection helpers
 * read the real store.
 */
export class PipelineSync {
  /** Calls made through `conduit` (and so by the stages), by method name, over every session; `findArtifacts:<algorithm>` too. */
  readonly calls: Record<string, number> = {};
  /** How many units each addOrUpdateUnits call carried, over every session. */
  readonly writtenPerCall: number[] = [];
  /** Units the store reported created by its upserts, over every session. */
  created = 0;
  /** Every unit id the conduit returned for a unit it wrote. */
  private readonly written = new Set<string>();
  private running!: Running;

  private constructor(
    readonly dir: string,
    readonly store: SqliteContentStore,
    readonly storage: ArtifactStorage,
    private readonly registry: PluginRegistry,
    private readonly container: DependencyContainer,
    private repository: RepositoryRecord,
    readonly settings: SyncSettings,
  ) {
    // what the store answers, counted as it answers (the conduit reports only updates)
    const upsertUnits = store.upsertUnits.bind(store);
    store.upsertUnits = async (units: readonly UnitWrite[]): Promise<UpsertStatus[]> => {
      const statuses = await upsertUnits(units);
      for (const status of statuses) if (status === 'created') this.created++;
      return statuses;
    };
  }

  static async open(options: PipelineSyncOptions = {}): Promise<PipelineSync> {
    const dir = await mkdtemp(path.join(tmpdir(), 'tributary-pipeline-'));
    const store = new SqliteContentStore(path.join(dir, 'catalog.db'), {});
    const storage = new ArtifactStorage(path.join(dir, 'storage'));
    try {
      await store.init();
      await storage.init();
      const registry = new PluginRegistry();
      registry.register(pipelineTestImporter);
      const container = hostContainer({
        store,
        storage,
        registry,
        options: { batchSize: options.batchSize ?? 1000, leaseTtlMs: 60_000, hostId: `pipeline-test:${process.pid}` },
      });
      const repository = await store.createRepository({ name: 'r', importer: pipelineTestImporter.name });
      const sync = new PipelineSync(dir, store, storage, registry, container, repository, defaultSettings(options.settings));
      await sync.begin();
      return sync;
    } catch (error) {
      await store.close().catch(() => undefined);
      await storage.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** The conduit of the sync under way (RepoConduit, its calls counted). */
  get conduit(): RepoConduit {
    return this.running.counted;
  }

  get resync(): ResyncService {
    return this.running.resync;
  }

  /** The version being written. */
  get version(): number {
    return this.running.scope.version;
  }

  get syncId(): string {
    return this.running.scope.syncId;
  }

  /** The signal of the sync under way: the conduit's (SyncScope.signal); pass it to runPipeline too, as SyncService does. */
  get signal(): AbortSignal {
    return this.running.abort.signal;
  }

  /** Cancels the sync under way. */
  abort(reason?: unknown): void {
    this.running.abort.abort(reason);
  }

  /** The report of the sync under way, as the conduit counted it. */
  get report(): SyncReportBuilder {
    return this.running.report;
  }

  /** Units added, updated and removed by the sync under way (its report). */
  totals(): { added: number; updated: number; removed: number } {
    return this.running.report.totals();
  }

  /** A PipelineContext for the sync under way, as SyncService builds one. */
  context(options: ContextOptions = {}): PipelineContext {
    return {
      conduit: this.running.counted,
      resync: this.running.resync,
      fetcher: options.fetcher ?? this.fetcher(new Map()),
      settings: { ...this.settings, ...options.settings },
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
      ...(options.downloadConcurrency !== undefined ? { downloadConcurrency: options.downloadConcurrency } : {}),
    };
  }

  /** Where fetchers put what they download: staged in the current sync's scope, as the Downloader does. */
  readonly staging: BodyStaging = {
    stage: (sha256, body) => this.storage.stageVerifiedBody(this.running.scope.syncId, sha256, body),
  };

  /** A fetcher serving `bodies` (url → text) whose downloads land in this sync's storage scope. */
  fetcher(bodies: ReadonlyMap<string, string>): MemoryFetcher {
    return new MemoryFetcher(bodies, this.staging);
  }

  /** `body` as a fetcher hands a download over: staged in this sync's scope, hashed (sha256). */
  async download(body: string): Promise<DownloadedFile> {
    const bytes = Buffer.from(body);
    const sha256 = digest('sha256', bytes);
    return { path: await this.staging.stage(sha256, bytes), size: bytes.length, digests: { sha256 } };
  }

  /**
   * Stores `body` in artifact storage and records it in the catalog with every digest, as
   * ArtifactSaver does with a download (through the sync's own conduit, uncounted).
   */
  async storeBytes(body: string): Promise<ArtifactRecord> {
    const bytes = Buffer.from(body);
    const digests = Object.fromEntries(ALL_DIGESTS.map((algorithm) => [algorithm, digest(algorithm, bytes)])) as Record<(typeof ALL_DIGESTS)[number], string>;
    const file = await this.staging.stage(digests.sha256, bytes);
    const [record] = await this.running.conduit.saveArtifacts([{ path: file, size: bytes.length, digests }]);
    return record!;
  }

  /** The unit id the conduit gives a unit of this type and key. */
  unitId(typeId: string, key: UnitKey): string {
    return unitIdFor(typeId, canonicalUnitKey(this.registry.contentType(typeId), key));
  }

  /** The units of these keys the catalog holds. */
  findUnits(typeId: string, keys: readonly UnitKey[]): Promise<ExistingUnit[]> {
    return this.store.findUnits(keys.map((key) => this.unitId(typeId, key)));
  }

  /** Relative path → sha256 (null while the bytes are deferred) of a unit's files in the catalog; {} if it is not stored. */
  async artifactsOf(typeId: string, key: UnitKey): Promise<Record<string, string | null>> {
    const [unit] = await this.findUnits(typeId, [key]);
    return Object.fromEntries((unit?.artifacts ?? []).map((artifact) => [artifact.relativePath, artifact.sha256]));
  }

  /** The units of the version being written. */
  async associated(typeId?: string): Promise<RepoUnitKey[]> {
    const units: RepoUnitKey[] = [];
    for await (const unit of this.store.repoUnitKeys(this.repository.id, this.version, typeId)) units.push(unit);
    return units;
  }

  /** How many units the version being written holds. */
  async associatedCount(): Promise<number> {
    return sum(await this.store.countRepoUnits(this.repository.id, this.version));
  }

  /** Remote sources the catalog holds for the units the conduit wrote, by `<unitId>|<relativePath>` (one upstream in these tests). */
  async remotes(): Promise<Map<string, StoredRemote>> {
    const remotes = new Map<string, StoredRemote>();
    for (const unit of await this.store.findUnits([...this.written])) {
      for (const remote of unit.remotes ?? []) remotes.set(`${unit.unitId}|${remote.relativePath}`, { unitId: unit.unitId, ...remote });
    }
    return remotes;
  }

  /** Artifacts whose bytes are in storage and recorded in the catalog. */
  async artifactCount(): Promise<number> {
    const files = await readdir(path.join(this.storage.root, 'artifacts'), { recursive: true });
    const stored = files.map((file) => path.basename(file)).filter((name) => /^[0-9a-f]{64}$/.test(name));
    if (stored.length === 0) return 0;
    return (await this.store.findArtifacts('sha256', stored)).length;
  }

  /** Commits the version being written and begins the next one with a new session, as the next sync would. */
  async commit(): Promise<void> {
    await this.running.resync.settled();
    await this.store.commitVersion(this.repository.id, this.version);
    await this.storage.dropScope(this.syncId);
    await this.begin();
  }

  async close(): Promise<void> {
    try {
      this.running.abort.abort();
      await this.running.resync.settled().catch(() => undefined);
      await this.storage.dropScope(this.syncId).catch(() => undefined);
      await this.store.close();
      await this.storage.close();
    } finally {
      await rm(this.dir, { recursive: true, force: true });
    }
  }

  /** Begins the next version and builds its session as SyncService.runImporter does. */
  private async begin(): Promise<void> {
    this.repository = (await this.store.getRepository(this.repository.name))!;
    const version = await this.store.beginVersion(this.repository.id);
    const syncId = randomUUID();
    const abort = new AbortController();
    const report = new SyncReportBuilder();
    const scope: SyncScope = {
      syncId,
      repository: this.repository,
      baseVersion: version - 1,
      version,
      scopeDir: await this.storage.createScope(syncId, this.repository.id),
      workingDir: await this.storage.workingDir(this.repository.id),
      remoteName: redactUrl(this.settings.url),
      sourceContext: sourceContextOf(pipelineTestImporter, this.settings, {}),
      report,
      signal: abort.signal,
    };
    const { conduit, resync } = createSyncSession(this.container, scope);
    this.running = { scope, conduit, counted: this.counting(conduit), resync, abort, report };
  }

  /** `conduit` with every call from outside counted (its calls to itself are not). */
  private counting(conduit: RepoConduit): RepoConduit {
    const count = (name: string): void => {
      this.calls[name] = (this.calls[name] ?? 0) + 1;
    };
    return new Proxy(conduit, {
      get: (target, property) => {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof property !== 'string' || !COUNTED.has(property) || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          count(property);
          if (property === 'findArtifacts') count(`findArtifacts:${String(args[0])}`);
          if (property === 'addOrUpdateUnits') this.writtenPerCall.push((args[0] as readonly UnitInput[]).length);
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (property === 'addOrUpdateUnits' || property === 'saveUnits') {
            void (result as Promise<UnitRef[]>).then(
              (refs) => refs.forEach((ref) => this.written.add(ref.unitId)),
              () => undefined,
            );
          }
          return result;
        };
      },
    });
  }
}

function digest(algorithm: string, bytes: Uint8Array): string {
  return createHash(algorithm).update(bytes).digest('hex');
}

function sum(counts: CountsByType): number {
  let total = 0;
  for (const n of Object.values(counts)) total += n;
  return total;
}
