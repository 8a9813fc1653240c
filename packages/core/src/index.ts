import 'reflect-metadata';

export { createHost, type CreateHostOptions } from './host/create-host.js';
export { Host } from './host/host.js';
export {
  limitHeapHeadroom,
  SERVE_HEAP_GROWING_PERCENT,
  SMALL_SYNC_HEAP_GROWING_PERCENT,
  smallUntilProvenLarge,
  SYNC_CATALOG_THREAD_AFTER_MS,
  SYNC_HEAP_GROWING_PERCENT,
} from './host/heap-headroom.js';
export type { ExportOptions, RepositoryPatch, RepositoryUpdate } from './host/host.js';
export type { ChangeOutcome, CopyOptions, UnitSelection } from './versions/repository-changes.js';
export type { VersionView } from './versions/version-history.js';
export { compileFilter, parseFilter, type UnitFilter, type FilterNode, type FilterValue, type FilterableUnit } from './filter/unit-filter.js';
export type { ExportResult } from './publish/publication-export.js';
export { PublicationService, DEFAULT_PUBLISHER } from './publish/publication-service.js';
export type { DistributionSpec, DistributionView } from './publish/distributions.js';
export type { SyncOptions, SyncOutcome, SyncProgress, OnArtifactError } from './sync/sync-service.js';
export type { HostEventSource, HostEventListener } from './events/host-events.js';
export { HOST_EVENT_CHANNELS } from './events/host-event-types.js';
export type * from './events/host-event-types.js';
export { PluginRegistry } from './host/plugin-registry.js';
export { RepoConduit } from './conduit/repo-conduit.js';
export { ArtifactStorage } from './storage/artifact-storage.js';
export { safeRelativePath, resolveInside } from './storage/safe-relative-path.js';
export { openStore, parseStoreUri, type StoreSpec } from './store/open-store.js';
export { unitIdFor } from './store/unit-id.js';
export type * from './store/content-store.js';
export { SqliteContentStore, type SqliteContentStoreOptions } from './store/sqlite/sqlite-content-store.js';
export { SqliteWorkerStore } from './store/sqlite/sqlite-worker-store.js';
export { MongoContentStore, type MongoContentStoreOptions } from './store/mongodb/mongodb-content-store.js';
export { Downloader, redactUrl, type RemoteOptions } from './download/index.js';
export { defaultStages, runPipeline, type PipelineContext } from './pipeline/index.js';
export { runCli } from './cli/run-cli.js';
export { createContentApp, type ContentApp, type ContentAppOptions, type AccessRecord, type ServeLog } from './serve/content-app.js';
