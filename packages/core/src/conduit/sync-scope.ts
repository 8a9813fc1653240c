import type { CountsByType } from '@tributary/plugin-api';
import type { RepositoryRecord } from '../store/content-store.js';

/** Where the conduit counts what a sync changes (the sync's report). */
export interface ChangeCounts {
  /** Why the sync finished early, if it did: then nothing it writes is committed. */
  readonly finishedEarly: string | undefined;
  addAdded(counts: CountsByType): void;
  addUpdated(counts: CountsByType): void;
  addRemoved(counts: CountsByType): void;
}

/** Facts about one running sync; registered in the sync's child container. */
export interface SyncScope {
  readonly syncId: string;
  readonly repository: RepositoryRecord;
  /** The committed version the sync started from (what `unitKeysForRepo` reads). */
  readonly baseVersion: number;
  /** The version being written. */
  readonly version: number;
  /** Absolute path of the sync's scratch directory inside the storage root. */
  readonly scopeDir: string;
  readonly workingDir: string;
  /** Identifies the upstream in remote-artifact rows. */
  readonly remoteName: string;
  /**
   * What a content source digest covers besides the source (sourceContextOf, source-digest.ts);
   * without it no source is recorded or looked up.
   */
  readonly sourceContext?: string;
  readonly report: ChangeCounts;
  readonly signal: AbortSignal;
}

export const SYNC_SCOPE = Symbol.for('tributary.SyncScope');
