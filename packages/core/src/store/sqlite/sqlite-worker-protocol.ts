import type { ErrorData } from '@tributary/plugin-api';

/** Messages between a {@link SqliteWorkerStore} and its catalog thread. */

/** Store methods the catalog thread runs (ContentStore's, minus the streams, plus their pages). */
export const WORKER_METHODS = [
  'init',
  'close',
  'createRepository',
  'getRepository',
  'listRepositories',
  'updateRepository',
  'deleteRepository',
  'acquireLease',
  'renewLease',
  'releaseLease',
  'getLease',
  'beginVersion',
  'commitVersion',
  'rollbackVersion',
  'upsertUnits',
  'findUnits',
  'upsertArtifacts',
  'findArtifacts',
  'upsertRemoteArtifacts',
  'associate',
  'unassociate',
  'markSeen',
  'markSeenRows',
  'unassociateUnseen',
  'unitKeysPage',
  'unitsPage',
  'fingerprintsPage',
  'sourcesPage',
  'countRepoUnits',
  'startSyncRecord',
  'finishSyncRecord',
  'listSyncRecords',
  'lastFingerprint',
  'deleteOrphans',
  // the same calls with units as flat lists of strings or as JSON text (see SqliteWorkerStore)
  'upsertEncodedUnits',
  'findUnitsJson',
  'associatePairs',
] as const;

export type WorkerMethod = (typeof WORKER_METHODS)[number];

export interface WorkerRequest {
  readonly id: number;
  readonly method: WorkerMethod;
  readonly args: readonly unknown[];
}

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: ErrorData;
    };
