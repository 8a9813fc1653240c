/**
 * The rules the conformance kit checks, each with a stable id (used in failures and in `skip`) and
 * the sentence an `it` is named after.
 */
export const CONFORMANCE_RULES = {
  'plugin-object-valid': 'the plugin object is valid: brand, host API range, content types and config schema',
  'invalid-config-rejected': 'an invalid config is rejected with TRIBUTARY_ERR_CONFIG_INVALID before any network call',
  'first-sync-succeeds':
    "an immediate sync of each fixture state into an empty repository succeeds, within the host's checks (no duplicate keys or paths, no content put after run() returned, no stall), and no content arrives after it ended",
  'unit-keys-declared': 'the first sync produces units whose keys carry exactly the declared key fields',
  'resync-idempotent': 'a second sync of an unchanged upstream adds, updates and removes nothing',
  'source-deterministic': 'content that names its upstream record (source) is built the same from the same record in every sync',
  'unit-keys-stable': 'unit keys are stable across syncs, and metadata changes count as updates, not as remove + add',
  'mirror-removes-keeps-user': 'a mirror sync removes what disappeared upstream and keeps units a user added',
  'on-demand-defers-downloads': 'an on_demand sync downloads no artifact and records a remote for every artifact',
  'immediate-stores-verified': 'an immediate sync stores every artifact, with digests that match the stored bytes',
  'cancelled-sync-intact': 'a sync cancelled midway fails with a typed error and leaves the previous version intact',
  'cancellation-honoured': 'the plugin stops working once its sync is cancelled',
  'upstream-error-intact': 'a sync failing on an upstream HTTP 500 fails with a typed error and leaves the previous version intact',
  'corrupt-artifact-intact': 'a sync meeting a corrupt artifact fails with a typed error and leaves the previous version intact',
  'requests-through-host': "every request upstream goes through the host's fetcher (which carries the remote's TLS, proxy, credentials, limits and cancellation)",
  'index-error-intact': 'a sync meeting an HTTP 500 on an index or metadata file fails with a typed error carrying the status, and leaves the previous version intact',
  'index-truncated-intact': 'a sync meeting an index or metadata file cut short fails with a typed error and leaves the previous version intact',
  'index-cancellation-honoured': 'a sync cancelled while it fetches its index stops promptly with a typed error and leaves the previous version intact',
  'early-finish-sees-changes': 'a sync that is not forced finishes early only when nothing changed upstream: the fingerprint covers the whole index',
  'working-area-bounded': 'the working area does not grow across syncs of the same upstream, and nothing appears beside it in the storage area',
  'writes-inside-storage': "the plugin writes only inside the host's storage and working areas",
  'conduit-batched': 'the conduit is used in batches: store round trips grow with units / batch size, not with units',
  'heap-bounded':
    'optional (opt in with heapBudget): a sync of a large generated upstream grows the heap by no more than the budget: content is streamed to the host, not buffered whole in memory before it is emitted',
} as const;

/** Id of a conformance rule. */
export type ConformanceRule = keyof typeof CONFORMANCE_RULES;

export const CONFORMANCE_RULE_IDS = Object.keys(CONFORMANCE_RULES) as ConformanceRule[];
