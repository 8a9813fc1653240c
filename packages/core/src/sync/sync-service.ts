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
  type SyncContext,
  type SyncReport,
  type SyncSettings,
} from '@tributary/plugin-api';
import { RepoConduit } from '../conduit/repo-conduit.js';
import { SYNC_SCOPE, type SyncScope } from '../conduit/sync-scope.js';
import { Downloader, redactUrl, type RemoteOptions } from '../download/index.js';
import { CONTENT_STORE, HOST_OPTIONS, type HostOptionsToken } from '../host/tokens.js';
import { defaultStages, runPipeline } from '../pipeline/index.js';
import { PluginRegistry } from '../plugins/plugin-registry.js';
import { ArtifactStorage } from '../storage/artifact-storage.js';
import type { ContentStore, RepositoryRecord } from '../store/content-store.js';
import { LeaseKeeper } from './lease-keeper.js';
import { settingsHash } from './settings-hash.js';
import { sourceContextOf } from '../conduit/content-sources.js';
import { SyncReportBuilder } from './sync-report-builder.js';
import { SyncLogger } from './sync-logger.js';

export interface SyncOptions {
  /** Importer name; defaults to the repository's importer. */
  readonly importer?: string;
  /** Feed url; defaults to the repository's feed url. */
  readonly url?: string;
  readonly policy?: DownloadPolicy;
  readonly mirror?: boolean;
  readonly force?: boolean;
  /** Per-repository importer config; defaults to the repository's config. */
  readonly config?: Record<string, unknown>;
  readonly remote?: RemoteOptions;
  readonly signal?: AbortSignal;
  /** Called with each log line (already free of credentials). */
  readonly onLog?: (line: string) => void;
  /** Remember importer, url and config on the repository for later syncs (default true). */
  readonly remember?: boolean;
  /** Called about four times a second while the sync runs. */
  readonly onProgress?: (progress: SyncProgress) => void;
}

export interface SyncProgress {
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
  readonly downloadedFiles: number;
  readonly downloadedBytes: number;
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

/**
 * Runs one sync of one repository: lease → version N+1 → importer (pipeline or conduit-style) →
 * commit, or rollback on any failure so version N stays exactly as it was. Temporary files live in
 * a per-sync scope that is removed whatever happens.
 */
export class SyncService {
  constructor(private readonly container: DependencyContainer) {}

  async sync(repositoryName: string, options: SyncOptions = {}): Promise<SyncOutcome> {
    const store = this.container.resolve<ContentStore>(CONTENT_STORE);
    const registry = this.container.resolve(PluginRegistry);
    const storage = this.container.resolve(ArtifactStorage);
    const hostOptions = this.container.resolve<HostOptionsToken>(HOST_OPTIONS);

    let repository = await store.getRepository(repositoryName);
    if (!repository) {
      throw new TributaryError(ErrorCodes.REPO_NOT_FOUND, `repository '${repositoryName}' does not exist; create it first (tributary repo create ${repositoryName})`);
    }
    const importerName = options.importer ?? repository.importer;
    if (!importerName) {
      throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `repository '${repositoryName}' has no importer yet; pass one (--importer NAME)`);
    }
    const plugin = registry.get(importerName);
    // Config is checked before any lease, version or network call.
    const config = registry.validateConfig(importerName, options.config ?? repository.config ?? {});
    const url = options.url ?? repository.feedUrl;
    if (!url) throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `repository '${repositoryName}' has no feed url yet; pass one (--url URL)`);
    checkFeedUrl(url);
    const settings: SyncSettings = {
      url,
      policy: options.policy ?? 'immediate',
      mirror: options.mirror ?? false,
      force: options.force ?? false,
    };
    if (settings.policy !== 'immediate' && settings.policy !== 'on_demand') {
      throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `policy must be 'immediate' or 'on_demand', got ${JSON.stringify(settings.policy)}`);
    }

    const syncId = randomUUID();
    const holder = `${hostOptions.hostId}:${syncId}`;
    const lease = new LeaseKeeper(store, repository.id, holder, hostOptions.leaseTtlMs);
    if (!(await lease.acquire())) {
      const current = await store.getLease(repository.id);
      const until = current ? new Date(current.expiresAt).toISOString() : 'unknown';
      throw new TributaryError(
        ErrorCodes.REPO_BUSY,
        `repository '${repositoryName}' is being synced by another process (lease held by ${current?.holder ?? 'another host'} until ${until}); try again when it finishes`,
        { details: { repository: repositoryName, holder: current?.holder, expiresAt: current?.expiresAt } },
      );
    }

    const abort = new AbortController();
    const onExternalAbort = () => abort.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onExternalAbort, { once: true });
    lease.onLost(() => abort.abort(new TributaryError(ErrorCodes.LEASE_LOST, `the lease on repository '${repositoryName}' expired and was taken by another host`)));

    const report = new SyncReportBuilder();
    const logger = new SyncLogger(report, options.onLog);
    const started = Date.now();
    let version = 0;
    let historyId: string | undefined;
    let finished = false;
    const hash = settingsHash(plugin, settings, config);
    let fingerprint: string | null = null;
    try {
      if (options.remember !== false && (repository.importer !== importerName || repository.feedUrl !== url || !sameJson(repository.config, config))) {
        repository = await store.updateRepository(repository.id, { importer: importerName, feedUrl: url, config });
      }
      await closeAbandonedRecords(store, repository.id);
      version = await store.beginVersion(repository.id);
      const baseVersion = version - 1;
      historyId = await store.startSyncRecord({ repoId: repository.id, importer: importerName, settingsHash: hash, version, startedAt: new Date(started).toISOString() });
      const previousFingerprint = settings.force ? undefined : await store.lastFingerprint(repository.id, hash);
      const scopeDir = await storage.createScope(syncId);
      const workingDir = await storage.workingDir(repository.id);
      const remoteName = redactUrl(url);
      const sourceContext = sourceContextOf(plugin, settings, config);
      const scope: SyncScope = { syncId, repository, baseVersion, version, scopeDir, workingDir, remoteName, sourceContext, report, signal: abort.signal };

      const child = this.container.createChildContainer();
      child.register(SYNC_SCOPE, { useValue: scope });
      const conduit = child.resolve(RepoConduit);
      const downloader = new Downloader(storage, syncId, options.remote ?? {});
      const progressTimer = options.onProgress
        ? setInterval(() => options.onProgress!({ ...report.totals(), downloadedFiles: downloader.stats.files, downloadedBytes: downloader.stats.bytes }), 250)
        : undefined;
      progressTimer?.unref();
      try {
        const context: SyncContext<Record<string, unknown>> = {
          settings,
          config,
          signal: abort.signal,
          log: logger,
          fetcher: downloader,
          workingDir,
          finishEarlyIfUnchanged(value: string, reason: string): boolean {
            fingerprint = value;
            if (previousFingerprint !== undefined && previousFingerprint === value) {
              report.finishEarly(reason);
              logger.info(`finishing early: ${reason}`);
              return true;
            }
            // the importer goes on with its index: what is stored starts loading while it parses
            // (only a pipeline compares with it, and QueryExistingContents says beforehand if it will not)
            if (plugin.firstStage) conduit.readBaseAhead();
            return false;
          },
        };
        logger.info(`sync of '${repositoryName}' from ${remoteName} with importer '${importerName}' (policy ${settings.policy}${settings.mirror ? ', mirror' : ''}${settings.force ? ', forced' : ''}) writing version ${version}`);
        const pluginStarted = Date.now();
        if (plugin.firstStage) {
          const firstContext: FirstStageContext<Record<string, unknown>> = {
            ...context,
            conduit,
            keepUnchanged: (sources) => conduit.keepUnchangedSources(sources),
          };
          const first = callPlugin(plugin, repositoryName, 'firstStage', () => plugin.firstStage!(firstContext as FirstStageContext<never>));
          const pipelineContext = {
            conduit,
            fetcher: downloader,
            settings,
            batchSize: Math.min(hostOptions.batchSize, store.preferredBatchSize ?? 1000),
            remoteName,
            ...(options.remote?.concurrency ? { downloadConcurrency: options.remote.concurrency } : {}),
          };
          const stages = [first, ...defaultStages(pipelineContext, plugin.stages, firstContext as FirstStageContext)];
          // a sync that cannot finish early (forced, or nothing to compare with) reads what is stored
          // while the importer fetches its index, not only once it has it (and not at all when the
          // stages said they will not compare, which they did as they were built)
          if (previousFingerprint === undefined) conduit.readBaseAhead();
          const { busy } = await runPipeline({ stages, signal: abort.signal, plugin: plugin.name, repository: repositoryName });
          await conduit.keptSeen();
          // busy time (minus waits on queues) says where a sync's time goes; every stage's wall time is the whole sync
          report.timings = { ...busy };
        } else {
          try {
            const result = await plugin.sync!(conduit, config as never, context as SyncContext<never>);
            for (const line of result?.log ?? []) logger.info(String(line));
          } catch (error) {
            throw new SyncFailedError({ plugin: plugin.name, repository: repositoryName, stage: 'sync', cause: error, cancelled: abort.signal.aborted && !isTributaryError(abort.signal.reason, ErrorCodes.LEASE_LOST) });
          }
          if (abort.signal.aborted) {
            throw new SyncFailedError({ plugin: plugin.name, repository: repositoryName, stage: 'sync', cause: abort.signal.reason, cancelled: true });
          }
          report.timings = { sync: Date.now() - pluginStarted };
        }
        report.downloaded.count = downloader.stats.files;
        report.downloaded.bytes = downloader.stats.bytes;
      } finally {
        if (progressTimer) clearInterval(progressTimer);
        await downloader.close().catch(() => undefined);
      }

      let resultVersion = baseVersion;
      if (report.finishedEarly !== undefined || !report.changedContent) {
        // Nothing changed which units the repository holds: keep version N rather than commit a copy.
        await store.rollbackVersion(repository.id, version);
      } else {
        await lease.renewOrThrow();
        await store.commitVersion(repository.id, version);
        resultVersion = version;
      }
      report.timings = { ...report.timings, total: Date.now() - started };
      const built = report.build();
      await store.finishSyncRecord(historyId, { status: 'succeeded', finishedAt: new Date().toISOString(), report: built, error: null, fingerprint, resultVersion });
      finished = true;
      logger.info(`sync of '${repositoryName}' succeeded: version ${resultVersion}`);
      return {
        repository: repositoryName,
        version: resultVersion,
        newVersion: resultVersion === version,
        report: built,
        ...(built.finishedEarly !== undefined ? { finishedEarly: built.finishedEarly } : {}),
      };
    } catch (error) {
      const failure = asSyncFailure(error, plugin, repositoryName, abort.signal);
      if (version > 0) await store.rollbackVersion(repository.id, version).catch(() => undefined);
      if (historyId && !finished) {
        report.timings = { ...report.timings, total: Date.now() - started };
        await store
          .finishSyncRecord(historyId, {
            status: failure.code === ErrorCodes.SYNC_CANCELLED ? 'cancelled' : 'failed',
            finishedAt: new Date().toISOString(),
            report: report.build(),
            error: failure.toJSON(),
            fingerprint: null,
            resultVersion: version - 1,
          })
          .catch(() => undefined);
      }
      throw failure;
    } finally {
      options.signal?.removeEventListener('abort', onExternalAbort);
      await storage.dropScope(syncId).catch(() => undefined);
      await lease.release();
    }
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
  const cancelled = signal.aborted && !isTributaryError(signal.reason, ErrorCodes.LEASE_LOST);
  return new SyncFailedError({ plugin: plugin.name, repository, stage: 'host', cause: error, cancelled });
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

export type { RepositoryRecord };
