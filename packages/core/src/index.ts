import 'reflect-metadata';

export { createHost, type CreateHostOptions } from './host/create-host.js';
export { Host } from './host/host.js';
export type { ExportOptions, ExportResult } from './host/repository-export.js';
export type { SyncOptions, SyncOutcome } from './sync/sync-service.js';
export { PluginRegistry } from './plugins/plugin-registry.js';
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
