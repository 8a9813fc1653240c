import { randomUUID } from 'node:crypto';
import type { DependencyContainer } from 'tsyringe';
import {
  ErrorCodes,
  isTributaryError,
  SyncFailedError,
  TributaryError,
  type DownloadPolicy,
  type FirstStageContext,
  type ImporterPlugin,
  type RemoteFetcher,
  type SyncContext,
  type SyncReport,
  type SyncSettings,
} from '@tributary/plugin-api';
import { sourceContextOf } from '../conduit/source-digest.js';
import type { SyncScope } from '../conduit/sync-scope.js';
import { Downloader, redactUrl, withoutCredentials, type RemoteOptions } from '../download/index.js';
import { HostEvents } from '../events/host-events.js';
import { defaultStages, runPipeline, skipLimitOf, SkippedUnits, type OnArtifactError, type PipelineContext, type PipelineProgress } from '../pipeline/index.js';
import { ArtifactStorage } from '../storage/artifact-storage.js';
import type { ContentStore, RepositoryRecord } from '../store/content-store.js';
import { CONTENT_STORE, HOST_OPTIONS, PLUGINS, type HostOptionsToken, type PluginCatalog } from '../tokens.js';
import { LeaseKeeper } from './lease-keeper.js';
import { settingsHash } from './settings-hash.js';
import { SyncLogger } from './sync-logger.js';
import { SyncReportBuilder } from './sync-report-builder.js';
import { VersionHistory } from '../versions/version-history.js';
import { createSyncSession } from './sync-session.js';

export interface SyncOptions {
  /** Importer name; defaults to the repository's importer. */
  readonly importer?: string;
  /** Feed url; defaults to the repository's feed url. */
  readonly url?: string;
  /** Download policy; defaults to the one the last successful sync used, else immediate. */
  readonly policy?: DownloadPolicy;
  readonly mirror?: boolean;
  readonly force?: boolean;
  /** Per-repository importer config; defaults to the repository's config. */
  readonly config?: Record<string, unknown>;
  readonly remote?: RemoteOptions;
  readonly signal?: AbortSignal;
  /** Called with each log line (already free of credentials). */
  readonly onLog?: (line: string) => void;
  /** Remember importer, url, policy and config on the repository for later syncs (default true). */
  readonly remember?: boolean;
  /** Called about four times a second while the sync runs. */
  readonly onProgress?: (progress: SyncProgress) => void;
  /**
   * Progress watchdog: a sync that makes no progress (no content moving through the pipeline, no
   * download finishing, for a conduit-style importer nothing counted in the report) for this many
   * milliseconds fails with TRIBUTARY_ERR_TIMEOUT naming what it waits on. Default: none. Set it
   * well above the longest single download a sync makes.
   */
  readonly stallTimeoutMs?: number;
  /**
   * Fail at the first unit whose file cannot be fetched (`'fail'`, the default), or leave such
   * units out (`'skip'`: up to 100; `{ skip: LIMIT }`). A skipped unit is neither saved nor
   * associated: one the previous version held stays in an additive sync and is removed by a mirror
   * sync. Skipping applies to the files the pipeline downloads; the index and metadata an importer
   * fetches, and every download of a conduit-style importer, fail the sync as before. Network errors
   * and stalls fail it too: they say the remote is unreachable, not that a file is bad. A sync that
   * skipped units records no fingerprint, so the next one compares every unit and tries them again.
   */
  readonly onError?: OnArtifactError;
}

export interface SyncProgress {
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
  /** Artifacts downloaded so far, and their bytes (metadata files apart). */
  readonly downloadedFiles: number;
  readonly downloadedBytes: number;
  /** Index and metadata files the importer downloaded itself, and their bytes. */
  readonly metadataFiles: number;
  readonly metadataBytes: number;
  /** Artifacts found due for download so far; the total once `artifactsListed`. */
  readonly artifactsDue: number;
  readonly artifactsListed: boolean;
  /** How far the importer is through its index, when it says (SyncContext.reportProgress). */
  readonly index?: { readonly what: string; readonly done: number; readonly total: number };
}

export interface SyncOutcome {
  readonly repository: string;
  /** The repository's latest version after the sync. */
  readonly version: number;
  /** Whether this sync committed a new version. */
  readonly newVersion: boolean;
  readonly report: SyncReport;
  readonly finishedEarly?: string;
}

/** What one sync runs with, once its request is checked. */
interface SyncPlan {
  readonly repository: RepositoryRecord;
  readonly plugin: ImporterPlugin;
  readonly importerName: string;
  readonly config: Record<string, unknown>;
  readonly settings: SyncSettings;
  /** Units whose files fail that the sync may leave out; undefined: it fails at the first. */
  readonly skipLimit: number | undefined;
}

/** One sync under way: its lease, cancellation, report and log. */
interface RunningSync {
  readonly plan: SyncPlan;
  readonly syncId: string;
  readonly lease: LeaseKeeper;
  readonly abort: AbortController;
  readonly report: SyncReportBuilder;
  readonly logger: SyncLogger;
  readonly started: number;
}

/**
 * Runs one sync of one repository in phases: check the request → take the lease → begin version
 * N+1 and its history record → run the importer (pipeline or conduit-style) → commit, or roll back
 * on any failure so version N stays exactly as it was → record the outcome. Temporary files live in
 * a per-sync scope that is removed whatever happens.
 */
export class SyncService {
  private readonly store: ContentStore;
  private readonly plugins: PluginCatalog;
  private readonly storage: ArtifactStorage;
  private readonly hostOptions: HostOptionsToken;
  private readonly events: HostEvents;

  constructor(private readonly container: DependencyContainer) {
    this.store = container.resolve<ContentStore>(CONTENT_STORE);
    this.plugins = container.resolve<PluginCatalog>(PLUGINS);
    this.storage = container.resolve(ArtifactStorage);
    this.hostOptions = container.resolve<HostOptionsToken>(HOST_OPTIONS);
    this.events = container.resolve(HostEvents);
  }

  async sync(repositoryName: string, options: SyncOptions = {}): Promise<SyncOutcome> {
    const plan = await this.plan(repositoryName, options);
    const running = await this.takeLease(plan, options);
    const onExternalAbort = () => running.abort.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onExternalAbort, { once: true });
    // a signal aborted before the sync began fires no event
    if (options.signal?.aborted) onExternalAbort();
    let version = 0;
    let historyId: string | undefined;
    let started = false;
    // told once the lease is released, so a listener may start the repository's next sync at once
    let outcome: (() => void) | undefined;
    try {
      const repoId = plan.repository.id;
      await closeAbandonedRecords(this.store, repoId);
      await this.removeCrashLeftovers(running);
      version = await this.store.beginVersion(repoId);
      const hash = settingsHash(plan.plugin, plan.settings, plan.config);
      historyId = await this.store.startSyncRecord({ repoId, importer: plan.importerName, settingsHash: hash, version, startedAt: new Date(running.started).toISOString() });
      started = true;
      this.events.emit('sync.started', {
        repository: repositoryName,
        syncId: running.syncId,
        importer: plan.importerName,
        url: redactUrl(plan.settings.url),
        policy: plan.settings.policy,
        mirror: plan.settings.mirror,
        force: plan.settings.force,
        version,
        ...(plan.skipLimit !== undefined ? { skipLimit: plan.skipLimit } : {}),
      });
      const previousFingerprint = plan.settings.force ? undefined : await this.store.lastFingerprint(repoId, hash);
      const importerFingerprint = await this.runImporter(running, version, previousFingerprint, options);
      // the next sync must compare every unit, or an unchanged index would never retry the skipped ones
      const fingerprint = running.report.skipped > 0 ? null : importerFingerprint;
      const resultVersion = await this.commitOrKeep(running, version);
      if (resultVersion === version) await this.keepHistory(running, version, historyId);
      if (options.remember !== false) await this.remember(plan);
      const built = this.finalReport(running);
      await this.store.finishSyncRecord(historyId, { status: 'succeeded', finishedAt: new Date().toISOString(), report: built, error: null, fingerprint, resultVersion });
      historyId = undefined;
      const skipped = running.report.skipped;
      running.logger.info(`sync of '${repositoryName}' succeeded: version ${resultVersion}${skipped > 0 ? ` (${skipped} unit(s) left out: their files failed)` : ''}`);
      outcome = () => this.events.emit('sync.finished', {
        repository: repositoryName,
        syncId: running.syncId,
        version: resultVersion,
        newVersion: resultVersion === version,
        added: built.added,
        updated: built.updated,
        removed: built.removed,
        skipped,
        ...(built.finishedEarly !== undefined ? { finishedEarly: built.finishedEarly } : {}),
        durationMs: Date.now() - running.started,
        report: built,
      });
      return {
        repository: repositoryName,
        version: resultVersion,
        newVersion: resultVersion === version,
        report: built,
        ...(built.finishedEarly !== undefined ? { finishedEarly: built.finishedEarly } : {}),
      };
    } catch (error) {
      const failure = await this.rollBack(running, version, historyId, error);
      if (started) {
        outcome = () => this.events.emit('sync.failed', {
          repository: repositoryName,
          syncId: running.syncId,
          version: version - 1,
          cancelled: failure.code === ErrorCodes.SYNC_CANCELLED,
          error: failure,
          durationMs: Date.now() - running.started,
        });
      }
      throw failure;
    } finally {
      options.signal?.removeEventListener('abort', onExternalAbort);
      await this.storage.dropScope(running.syncId).catch(() => undefined);
      try {
        await running.lease.release();
      } finally {
        outcome?.();
      }
    }
  }

  /** Checks the request against the repository and the importer before any lease, version or network call. */
  private async plan(repositoryName: string, options: SyncOptions): Promise<SyncPlan> {
    const repository = await this.store.getRepository(repositoryName);
    if (!repository) {
      throw new TributaryError(ErrorCodes.REPO_NOT_FOUND, `repository '${repositoryName}' does not exist; create it first (tributary repo create ${repositoryName})`);
    }
    const importerName = options.importer ?? repository.importer;
    if (!importerName) {
      throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `repository '${repositoryName}' has no importer yet; pass one (--importer NAME)`);
    }
    const plugin = this.plugins.get(importerName);
    const config = this.plugins.validateConfig(importerName, options.config ?? repository.config ?? {});
    const url = options.url ?? repository.feedUrl;
    if (!url) throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `repository '${repositoryName}' has no feed url yet; pass one (--url URL)`);
    checkFeedUrl(url);
    const settings: SyncSettings = {
      url,
      policy: options.policy ?? repository.policy ?? 'immediate',
      mirror: options.mirror ?? false,
      force: options.force ?? false,
    };
    if (settings.policy !== 'immediate' && settings.policy !== 'on_demand') {
      throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `policy must be 'immediate' or 'on_demand', got ${JSON.stringify(settings.policy)}`);
    }
    return { repository, plugin, importerName, config, settings, skipLimit: skipLimitOf(options.onError) };
  }

  /** Takes the repository's lease (TRIBUTARY_ERR_REPO_BUSY when another sync holds it). */
  private async takeLease(plan: SyncPlan, options: SyncOptions): Promise<RunningSync> {
    const name = plan.repository.name;
    const syncId = randomUUID();
    const lease = new LeaseKeeper(this.store, plan.repository.id, `${this.hostOptions.hostId}:${syncId}`, this.hostOptions.leaseTtlMs);
    if (!(await lease.acquire())) {
      const current = await this.store.getLease(plan.repository.id);
      const until = current ? new Date(current.expiresAt).toISOString() : 'unknown';
      throw new TributaryError(
        ErrorCodes.REPO_BUSY,
        `repository '${name}' is being synced by another process (lease held by ${current?.holder ?? 'another host'} until ${until}); try again when it finishes`,
        { details: { repository: name, holder: current?.holder, expiresAt: current?.expiresAt } },
      );
    }
    const abort = new AbortController();
    lease.onLost(() => abort.abort(new TributaryError(ErrorCodes.LEASE_LOST, `the lease on repository '${name}' expired and was taken by another host`)));
    const report = new SyncReportBuilder();
    return { plan, syncId, lease, abort, report, logger: new SyncLogger(report, options.onLog), started: Date.now() };
  }

  /**
   * Runs the importer against version `version`: a pipeline importer's first stage with the
   * default stages behind it, or a conduit-style importer's `sync`. Returns the fingerprint the
   * importer gave for early finish, if any.
   */
  private async runImporter(running: RunningSync, version: number, previousFingerprint: string | undefined, options: SyncOptions): Promise<string | null> {
    const { plan, report, logger, abort, syncId } = running;
    const { plugin, settings, config, repository } = plan;
    const scope: SyncScope = {
      syncId,
      repository,
      baseVersion: version - 1,
      version,
      scopeDir: await this.storage.createScope(syncId, repository.id),
      workingDir: await this.storage.workingDir(repository.id),
      remoteName: redactUrl(settings.url),
      sourceContext: sourceContextOf(plugin, settings, config),
      report,
      signal: abort.signal,
    };
    const { conduit, resync } = createSyncSession(this.container, scope);
    // file: urls from the remote's metadata are read only when the feed itself is file:
    const downloader = new Downloader(this.storage, syncId, options.remote ?? {}, { feedUrl: settings.url });
    // what a pipeline importer fetches itself is its index and metadata; the artifacts are fetched by the pipeline
    const metadata = report.metadata;
    const importerFetcher: RemoteFetcher = plugin.firstStage
      ? {
          transferLimit: downloader.transferLimit,
          download: async (url, expected, signal) => {
            const file = await downloader.download(url, expected, followingSync(signal, abort.signal));
            metadata.count++;
            metadata.bytes += file.size;
            return file;
          },
        }
      : followingSignal(downloader, abort.signal);
    const pipelineProgress: PipelineProgress = { artifactsDue: 0, artifactsListed: false };
    const skips = this.skipsFor(running);
    let index: SyncProgress['index'];
    const progressTimer = options.onProgress
      ? setInterval(
          () =>
            options.onProgress!({
              ...report.totals(),
              downloadedFiles: downloader.stats.files - metadata.count,
              downloadedBytes: downloader.stats.bytes - metadata.bytes,
              metadataFiles: metadata.count,
              metadataBytes: metadata.bytes,
              ...pipelineProgress,
              ...(index ? { index } : {}),
            }),
          250,
        )
      : undefined;
    progressTimer?.unref();
    let fingerprint: string | null = null;
    try {
      const context: SyncContext<Record<string, unknown>> = {
        settings,
        config,
        signal: abort.signal,
        log: logger,
        fetcher: importerFetcher,
        workingDir: scope.workingDir,
        reportProgress: (what, done, total) => {
          index = { what, done, total };
        },
        finishEarlyIfUnchanged(value: string, reason: string): boolean {
          fingerprint = value;
          if (previousFingerprint !== undefined && previousFingerprint === value) {
            report.finishEarly(reason);
            logger.info(`finishing early: ${reason}`);
            return true;
          }
          // the importer goes on with its index: what is stored starts loading while it parses
          // (only a pipeline compares with it, and QueryExistingContents says beforehand if it will not)
          if (plugin.firstStage) resync.readBaseAhead();
          return false;
        },
      };
      logger.info(
        `sync of '${repository.name}' from ${scope.remoteName} with importer '${plan.importerName}' (policy ${settings.policy}${settings.mirror ? ', mirror' : ''}${settings.force ? ', forced' : ''}) writing version ${version}`,
      );
      const pluginStarted = Date.now();
      if (plugin.firstStage) {
        const firstContext: FirstStageContext<Record<string, unknown>> = { ...context, conduit, keepUnchanged: (sources) => resync.keepUnchanged(sources) };
        const first = callPlugin(plugin, repository.name, 'firstStage', () => plugin.firstStage!(firstContext as FirstStageContext<never>));
        const pipelineContext: PipelineContext = {
          conduit,
          resync,
          fetcher: downloader,
          settings,
          batchSize: Math.min(this.hostOptions.batchSize, this.store.pipelineBatchSize),
          ...(options.remote?.concurrency ? { downloadConcurrency: options.remote.concurrency } : {}),
          progress: pipelineProgress,
          ...(skips ? { skips } : {}),
        };
        const stages = [first, ...defaultStages(pipelineContext, plugin.stages, firstContext as FirstStageContext)];
        // a sync that cannot finish early (forced, or nothing to compare with) reads what is stored
        // while the importer fetches its index, not only once it has it (and not at all when the
        // stages said they will not compare, which they did as they were built)
        if (previousFingerprint === undefined) resync.readBaseAhead();
        const { busy } = await runPipeline({
          stages,
          signal: abort.signal,
          plugin: plugin.name,
          repository: repository.name,
          ...(options.stallTimeoutMs !== undefined
            ? { stallTimeoutMs: options.stallTimeoutMs, progress: () => downloader.stats.files + downloader.stats.requests + downloader.stats.bytes }
            : {}),
        });
        await resync.settled();
        // busy time (minus waits on queues) says where a sync's time goes; every stage's wall time is the whole sync
        report.timings = { ...busy };
      } else {
        // what the importer saves is checked for duplicates as a first stage's output is; a refusal
        // stops the sync even when the importer catches it
        conduit.checkEmissions((error) => abort.abort(error));
        try {
          const syncing = plugin.sync!(conduit, config as never, context as SyncContext<never>);
          const result = options.stallTimeoutMs !== undefined
            ? await watchConduitSync(syncing, options.stallTimeoutMs, () => { const t = report.totals(); return t.added + t.updated + t.removed + downloader.stats.files + downloader.stats.requests; }, abort, repository.name)
            : await syncing;
          for (const line of result?.log ?? []) logger.info(String(line));
        } catch (error) {
          // the conduit's refusal, not what the importer made of it (or of the abort that followed)
          throw new SyncFailedError({ plugin: plugin.name, repository: repository.name, stage: 'sync', cause: conduit.refusal ?? error, cancelled: cancelledBy(abort.signal) });
        }
        if (abort.signal.aborted) {
          throw new SyncFailedError({ plugin: plugin.name, repository: repository.name, stage: 'sync', cause: abort.signal.reason, cancelled: cancelledBy(abort.signal) });
        }
        report.timings = { sync: Date.now() - pluginStarted };
      }
      report.downloaded.count = downloader.stats.files - metadata.count;
      report.downloaded.bytes = downloader.stats.bytes - metadata.bytes;
    } finally {
      if (progressTimer) clearInterval(progressTimer);
      await downloader.close().catch(() => undefined);
    }
    return fingerprint;
  }

  /** What leaves out units whose files fail, when the sync may skip them: into the report and the log. */
  private skipsFor(running: RunningSync): SkippedUnits | undefined {
    const { plan, report, logger } = running;
    if (plan.skipLimit === undefined) return undefined;
    if (!plan.plugin.firstStage) {
      logger.info(`importer '${plan.importerName}' syncs on its own (no pipeline): units whose files fail are not skipped`);
      return undefined;
    }
    report.skipUpTo(plan.skipLimit);
    return new SkippedUnits(plan.skipLimit, (unit) => {
      report.addSkipped(unit);
      logger.warn(`left out '${unit.typeId}' ${JSON.stringify(unit.key)}: ${unit.relativePath} from ${unit.url}: ${unit.code}: ${unit.message}`);
      this.events.emit('sync.unit-skipped', { repository: plan.repository.name, syncId: running.syncId, unit });
    });
  }

  /**
   * Commits `version`, or rolls it back when the sync did not change which units the repository
   * holds (an early finish, or nothing added or removed): version N is kept rather than copied.
   * Returns the repository's latest version after it.
   */
  private async commitOrKeep(running: RunningSync, version: number): Promise<number> {
    const repoId = running.plan.repository.id;
    // a unit shown in a new revision changes the version too, though nothing was added or removed
    if (running.report.finishedEarly !== undefined || !(running.report.changedContent || (await this.store.versionChanged(repoId, version)))) {
      await this.store.rollbackVersion(repoId, version);
      if (running.report.finishedEarly !== undefined) running.report.discardChanges();
      return version - 1;
    }
    await running.lease.renewOrThrow();
    await this.store.commitVersion(repoId, version);
    const { added, removed } = running.report.build();
    this.events.emit('version.committed', { repository: running.plan.repository.name, version, by: 'sync', added, removed });
    return version;
  }

  /**
   * Removes the scratch and staged files of earlier syncs of this repository: holding its lease,
   * this sync knows none of them is still running (their host died, as rolling back its version did).
   */
  private async removeCrashLeftovers(running: RunningSync): Promise<void> {
    const repoId = running.plan.repository.id;
    const { scopes, stagedFiles } = await this.storage.sweepLeftovers(({ scopeId, owner }) => owner === repoId && scopeId !== running.syncId);
    if (scopes > 0) running.logger.info(`removed what ${scopes} earlier sync(s) of this repository left when their host stopped (${stagedFiles} staged file(s))`);
  }

  /**
   * Remembers importer, url (without credentials: pass them again, as remote options), policy and
   * config on the repository for later syncs: only once a sync succeeded.
   */
  private async remember(plan: SyncPlan): Promise<void> {
    const { repository, importerName, settings, config } = plan;
    const feedUrl = withoutCredentials(settings.url);
    const { policy } = settings;
    if (repository.importer === importerName && repository.feedUrl === feedUrl && repository.policy === policy && sameJson(repository.config, config)) return;
    await this.store.updateRepository(repository.id, { importer: importerName, feedUrl, policy, config });
  }

  /**
   * Records that this sync made `version` (its counts from the report's, no second reading of the
   * rows) and deletes the versions the repository's retention no longer keeps. The commit stands
   * whatever happens here: a failure is a warning in the sync's log.
   */
  private async keepHistory(running: RunningSync, version: number, historyId: string): Promise<void> {
    const { added, removed } = running.report.build();
    const { deleted, warnings } = await new VersionHistory(this.store).committed(running.plan.repository, version, { kind: 'sync', syncId: historyId }, { added, removed });
    if (deleted.length > 0) running.logger.info(`retention deleted version${deleted.length > 1 ? 's' : ''} ${deleted.join(', ')}`);
    for (const warning of warnings) running.logger.warn(warning);
  }

  private finalReport(running: RunningSync): SyncReport {
    running.report.timings = { ...running.report.timings, total: Date.now() - running.started };
    return running.report.build();
  }

  /** Rolls back `version` and records the failure; returns the typed error to throw. */
  private async rollBack(running: RunningSync, version: number, historyId: string | undefined, error: unknown): Promise<TributaryError> {
    const { plan, abort } = running;
    const failure = asSyncFailure(error, plan.plugin, plan.repository.name, abort.signal);
    if (version > 0) await this.store.rollbackVersion(plan.repository.id, version).catch(() => undefined);
    // nothing of what it counted was committed
    running.report.discardChanges();
    if (historyId !== undefined) {
      await this.store
        .finishSyncRecord(historyId, {
          status: failure.code === ErrorCodes.SYNC_CANCELLED ? 'cancelled' : 'failed',
          finishedAt: new Date().toISOString(),
          report: this.finalReport(running),
          error: failure.toJSON(),
          fingerprint: null,
          resultVersion: version - 1,
        })
        .catch(() => undefined);
    }
    return failure;
  }
}

/**
 * History records still 'running' while this host holds the lease belong to a host that died
 * mid-sync (its version is rolled back by beginVersion); they are closed as failed so history
 * tells the truth.
 */
async function closeAbandonedRecords(store: ContentStore, repoId: string): Promise<void> {
  const running = (await store.listSyncRecords(repoId, 20)).filter((r) => r.status === 'running');
  for (const record of running) {
    const error = new TributaryError(ErrorCodes.SYNC_FAILED, 'abandoned: the host running this sync stopped before it finished; its half-written version was rolled back', {
      details: { abandoned: true },
    });
    await store.finishSyncRecord(record.id, { status: 'failed', finishedAt: new Date().toISOString(), report: null, error: error.toJSON(), fingerprint: null, resultVersion: record.version - 1 });
  }
}

/**
 * The host's downloader as a plugin gets it: a download given no signal (or another one) still stops
 * when the sync is cancelled, so an importer cannot keep fetching for a sync that is over.
 */
function followingSignal(downloader: Downloader, syncSignal: AbortSignal): RemoteFetcher {
  return {
    download: (url, expected, signal) => downloader.download(url, expected, followingSync(signal, syncSignal)),
    transferLimit: downloader.transferLimit,
  };
}

/** The signal a download follows: the sync's, and the one the plugin gave if any. */
function followingSync(signal: AbortSignal | undefined, syncSignal: AbortSignal): AbortSignal {
  return signal === undefined || signal === syncSignal ? syncSignal : AbortSignal.any([signal, syncSignal]);
}

/**
 * Awaits a conduit-style importer's sync, failing it (TRIBUTARY_ERR_TIMEOUT) when `progress` does
 * not move for `stallMs`; after a short grace for the importer to honour the abort, gives up on it.
 */
async function watchConduitSync<T>(syncing: Promise<T>, stallMs: number, progress: () => number, abort: AbortController, repository: string): Promise<T> {
  let last = progress();
  let lastChange = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      const now = progress();
      if (now !== last) {
        last = now;
        lastChange = Date.now();
        return;
      }
      if (Date.now() - lastChange < stallMs) return;
      clearInterval(timer);
      const error = new TributaryError(
        ErrorCodes.TIMEOUT,
        `the sync of '${repository}' made no progress for ${Math.round(stallMs / 100) / 10} s: the importer's sync() saved nothing and downloaded nothing through the host's fetcher; it waits on something outside the host (a promise nobody settles, a request made around the host, a timer)`,
        { details: { stallTimeoutMs: stallMs, stage: 'sync' } },
      );
      abort.abort(error);
      timer = setTimeout(() => reject(error), Math.min(2_000, stallMs));
    }, Math.max(10, Math.min(1_000, Math.floor(stallMs / 4))));
    timer.unref?.();
  });
  stalled.catch(() => undefined);
  try {
    return await Promise.race([syncing, stalled]);
  } finally {
    clearInterval(timer);
    clearTimeout(timer);
  }
}

function callPlugin<T>(plugin: ImporterPlugin, repository: string, stage: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw new SyncFailedError({ plugin: plugin.name, repository, stage, cause: error });
  }
}

function asSyncFailure(error: unknown, plugin: ImporterPlugin, repository: string, signal: AbortSignal): TributaryError {
  if (error instanceof SyncFailedError || isTributaryError(error, ErrorCodes.SYNC_FAILED) || isTributaryError(error, ErrorCodes.SYNC_CANCELLED)) {
    return error as TributaryError;
  }
  return new SyncFailedError({ plugin: plugin.name, repository, stage: 'host', cause: error, cancelled: cancelledBy(signal) });
}

/** Whether an aborted sync was cancelled, rather than stopped by a lost lease, its watchdog or a refused importer. */
function cancelledBy(signal: AbortSignal): boolean {
  return (
    signal.aborted &&
    !isTributaryError(signal.reason, ErrorCodes.LEASE_LOST) &&
    !isTributaryError(signal.reason, ErrorCodes.TIMEOUT) &&
    !isTributaryError(signal.reason, ErrorCodes.PLUGIN_MISBEHAVED)
  );
}

function checkFeedUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TributaryError(ErrorCodes.URL_INVALID, `feed url ${JSON.stringify(redactUrl(url))} is not a valid absolute url (e.g. https://example.org/repo/ or file:///srv/repo/)`);
  }
  if (!['http:', 'https:', 'file:'].includes(parsed.protocol)) {
    throw new TributaryError(ErrorCodes.URL_INVALID, `feed url scheme '${parsed.protocol}' is not supported (http, https, file)`);
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

export type { RepositoryRecord, OnArtifactError };
