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

/** A conformance check: resolves when the plugin keeps the rule, rejects with a ConformanceFailure when not. */
export type ConformanceCheck = (ctx: ConformanceContext) => Promise<void>;

/** Every check, by the rule it checks, in the order the suite runs them. */
export const CONFORMANCE_CHECKS: Readonly<Record<ConformanceRule, ConformanceCheck>> = {
  'plugin-object-valid': checkPluginObject,
  'invalid-config-rejected': checkInvalidConfigRejected,
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
  'writes-inside-storage': checkWritesInsideStorage,
  'conduit-batched': checkConduitBatched,
};
