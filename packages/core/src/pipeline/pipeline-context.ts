import {
  DEFAULT_BATCH_SIZE,
  ErrorCodes,
  TributaryError,
  type RemoteFetcher,
  type SyncSettings,
} from '@tributary/plugin-api';
import type { HostConduit } from '../conduit/host-conduit.js';
import type { ResyncService } from '../resync/resync-service.js';
import type { SkippedUnits } from './skipped-units.js';

/** Downloads in flight at once in ArtifactDownloader unless told otherwise. */
export const DEFAULT_DOWNLOAD_CONCURRENCY = 10;

/**
 * What the default stages of one sync work with. They reach the host only through `conduit`,
 * `resync` and `fetcher`; a sync builds all three for its repository (createSyncSession).
 */
export interface PipelineContext {
  readonly conduit: HostConduit;
  /** The re-sync shortcut: which content the base version already holds as it would be written. */
  readonly resync: ResyncService;
  readonly fetcher: RemoteFetcher;
  /** Policy, mirror, feed url, force. */
  readonly settings: SyncSettings;
  /** Content per batch in the batching stages (default 500). */
  readonly batchSize?: number;
  /** Capacity of the queues between stages (default 100); for whoever calls `runPipeline`. */
  readonly queueCapacity?: number;
  /** Downloads in flight at once across the whole ArtifactDownloader (default 10). */
  readonly downloadConcurrency?: number;
  /**
   * Given, ArtifactDownloader leaves out content whose file fails (an error status, wrong size or
   * digest) instead of failing the sync, up to its limit. Absent: the first failure fails the sync.
   */
  readonly skips?: SkippedUnits;
  /** Counted for progress displays: the artifacts ArtifactDownloader found due so far. */
  readonly progress?: PipelineProgress;
}

/** What a running pipeline tells about its downloads, for progress displays. */
export interface PipelineProgress {
  /** Artifacts found due for download so far. */
  artifactsDue: number;
  /** Set once every content reached ArtifactDownloader: `artifactsDue` is then the total. */
  artifactsListed: boolean;
}

/** The batch size of `ctx`, checked. */
/**
 * The first batch of the stages before ArtifactDownloader (see Stage.batches): downloads start on
 * the first content an importer passes on, not once a whole batch of it is parsed.
 */
export const FIRST_BATCH_SIZE = 32;

export function batchSizeOf(ctx: PipelineContext): number {
  return positiveInteger(ctx.batchSize ?? DEFAULT_BATCH_SIZE, 'batchSize');
}

/** The download concurrency of `ctx`, checked. */
export function downloadConcurrencyOf(ctx: PipelineContext): number {
  return positiveInteger(ctx.downloadConcurrency ?? DEFAULT_DOWNLOAD_CONCURRENCY, 'downloadConcurrency');
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `pipeline setting ${name} must be a positive integer, got ${value}`, {
      details: { setting: name, value },
    });
  }
  return value;
}
