import type { ConformanceContext } from './conformance-context.js';
import type { ConformanceRule } from './conformance-rules.js';
import { checkCancellationHonoured, checkCancelledSyncIntact } from './checks/cancellation.js';
import { checkMirror, checkUnitKeysStable } from './checks/changed-upstream.js';
import { checkConduitBatched } from './checks/conduit-batching.js';
import { checkImmediate, checkOnDemand } from './checks/download-policy.js';
import { checkCorruptArtifactIntact, checkUpstreamErrorIntact } from './checks/failed-sync.js';
import { checkResyncIdempotent, checkUnitKeysDeclared } from './checks/first-sync.js';
import { checkInvalidConfigRejected, checkPluginObject } from './checks/plugin-object.js';
import { checkSourceDeterministic } from './checks/source-determinism.js';
import { checkWritesInsideStorage } from './checks/storage-sandbox.js';
import { checkFirstSyncSucceeds } from './checks/first-sync-succeeds.js';
import { checkIndexCancellationHonoured, checkIndexErrorIntact, checkIndexTruncatedIntact } from './checks/index-faults.js';
import { checkEarlyFinishSeesChanges } from './checks/early-finish.js';
import { checkWorkingAreaBounded } from './checks/working-area.js';
import { checkRequestsThroughHost } from './checks/host-fetcher.js';
import { checkHeapBounded } from './checks/heap-budget.js';

/** A conformance check: resolves when the plugin keeps the rule, rejects with a ConformanceFailure when not. */
export type ConformanceCheck = (ctx: ConformanceContext) => Promise<void>;

/** Every check, by the rule it checks, in the order the suite runs them. */
export const CONFORMANCE_CHECKS: Readonly<Record<ConformanceRule, ConformanceCheck>> = {
  'plugin-object-valid': checkPluginObject,
  'invalid-config-rejected': checkInvalidConfigRejected,
  'first-sync-succeeds': checkFirstSyncSucceeds,
  'unit-keys-declared': checkUnitKeysDeclared,
  'resync-idempotent': checkResyncIdempotent,
  'source-deterministic': checkSourceDeterministic,
  'unit-keys-stable': checkUnitKeysStable,
  'mirror-removes-keeps-user': checkMirror,
  'on-demand-defers-downloads': checkOnDemand,
  'immediate-stores-verified': checkImmediate,
  'cancelled-sync-intact': checkCancelledSyncIntact,
  'cancellation-honoured': checkCancellationHonoured,
  'upstream-error-intact': checkUpstreamErrorIntact,
  'corrupt-artifact-intact': checkCorruptArtifactIntact,
  'requests-through-host': checkRequestsThroughHost,
  'index-error-intact': checkIndexErrorIntact,
  'index-truncated-intact': checkIndexTruncatedIntact,
  'index-cancellation-honoured': checkIndexCancellationHonoured,
  'early-finish-sees-changes': checkEarlyFinishSeesChanges,
  'working-area-bounded': checkWorkingAreaBounded,
  'writes-inside-storage': checkWritesInsideStorage,
  'conduit-batched': checkConduitBatched,
  'heap-bounded': checkHeapBounded,
};
