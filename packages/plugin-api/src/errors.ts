/**
 * Every error Tributary raises carries a stable `code`. The codes live here, in one place, so
 * documentation and tests can list them and callers can narrow on them.
 */
export const ErrorCodes = {
  // plugin registration, in the order the host checks them
  PLUGIN_BRAND: 'TRIBUTARY_ERR_PLUGIN_BRAND',
  PLUGIN_HOST_VERSION: 'TRIBUTARY_ERR_PLUGIN_HOST_VERSION',
  PLUGIN_DEFINITION: 'TRIBUTARY_ERR_PLUGIN_DEFINITION',
  PLUGIN_CONFIG_SCHEMA: 'TRIBUTARY_ERR_PLUGIN_CONFIG_SCHEMA',
  CONTENT_TYPE_CONFLICT: 'TRIBUTARY_ERR_CONTENT_TYPE_CONFLICT',
  PLUGIN_NOT_FOUND: 'TRIBUTARY_ERR_PLUGIN_NOT_FOUND',
  PLUGIN_LOAD: 'TRIBUTARY_ERR_PLUGIN_LOAD',
  PLUGIN_MISBEHAVED: 'TRIBUTARY_ERR_PLUGIN_MISBEHAVED',
  // configuration and arguments
  CONFIG_INVALID: 'TRIBUTARY_ERR_CONFIG_INVALID',
  INVALID_ARGUMENT: 'TRIBUTARY_ERR_INVALID_ARGUMENT',
  USAGE: 'TRIBUTARY_ERR_USAGE',
  /** A unit filter expression that does not parse; `details.position` is where (0-based). */
  FILTER_INVALID: 'TRIBUTARY_ERR_FILTER_INVALID',
  // repositories and syncs
  REPO_NOT_FOUND: 'TRIBUTARY_ERR_REPO_NOT_FOUND',
  REPO_EXISTS: 'TRIBUTARY_ERR_REPO_EXISTS',
  REPO_BUSY: 'TRIBUTARY_ERR_REPO_BUSY',
  LEASE_LOST: 'TRIBUTARY_ERR_LEASE_LOST',
  SYNC_FAILED: 'TRIBUTARY_ERR_SYNC_FAILED',
  SYNC_CANCELLED: 'TRIBUTARY_ERR_SYNC_CANCELLED',
  // units and content
  UNKNOWN_CONTENT_TYPE: 'TRIBUTARY_ERR_UNKNOWN_CONTENT_TYPE',
  UNIT_KEY_INVALID: 'TRIBUTARY_ERR_UNIT_KEY_INVALID',
  UNIT_METADATA_INVALID: 'TRIBUTARY_ERR_UNIT_METADATA_INVALID',
  UNIT_NOT_FOUND: 'TRIBUTARY_ERR_UNIT_NOT_FOUND',
  ARTIFACT_MISSING: 'TRIBUTARY_ERR_ARTIFACT_MISSING',
  VERSION_NOT_FOUND: 'TRIBUTARY_ERR_VERSION_NOT_FOUND',
  /** A version that cannot be deleted: the latest, or one a distribution serves. */
  VERSION_IN_USE: 'TRIBUTARY_ERR_VERSION_IN_USE',
  // publications, distributions, serving
  PUBLISH_FAILED: 'TRIBUTARY_ERR_PUBLISH_FAILED',
  PUBLICATION_MISMATCH: 'TRIBUTARY_ERR_PUBLICATION_MISMATCH',
  DISTRIBUTION_NOT_FOUND: 'TRIBUTARY_ERR_DISTRIBUTION_NOT_FOUND',
  DISTRIBUTION_EXISTS: 'TRIBUTARY_ERR_DISTRIBUTION_EXISTS',
  BASE_PATH_CONFLICT: 'TRIBUTARY_ERR_BASE_PATH_CONFLICT',
  EXPORT_TARGET_NOT_EMPTY: 'TRIBUTARY_ERR_EXPORT_TARGET_NOT_EMPTY',
  SERVE_FAILED: 'TRIBUTARY_ERR_SERVE_FAILED',
  // paths and storage
  PATH_UNSAFE: 'TRIBUTARY_ERR_PATH_UNSAFE',
  STORAGE: 'TRIBUTARY_ERR_STORAGE',
  STORE: 'TRIBUTARY_ERR_STORE',
  // verification
  DIGEST_MISMATCH: 'TRIBUTARY_ERR_DIGEST_MISMATCH',
  SIZE_MISMATCH: 'TRIBUTARY_ERR_SIZE_MISMATCH',
  DIGEST_INVALID: 'TRIBUTARY_ERR_DIGEST_INVALID',
  // transport
  HTTP_STATUS: 'TRIBUTARY_ERR_HTTP_STATUS',
  NETWORK: 'TRIBUTARY_ERR_NETWORK',
  TIMEOUT: 'TRIBUTARY_ERR_TIMEOUT',
  URL_INVALID: 'TRIBUTARY_ERR_URL_INVALID',
  // upstream metadata
  MANIFEST_INVALID: 'TRIBUTARY_ERR_MANIFEST_INVALID',
  XML_INVALID: 'TRIBUTARY_ERR_XML_INVALID',
  XML_ENTITY: 'TRIBUTARY_ERR_XML_ENTITY',
  METADATA_MISSING: 'TRIBUTARY_ERR_METADATA_MISSING',
  COMPRESSION_UNSUPPORTED: 'TRIBUTARY_ERR_COMPRESSION_UNSUPPORTED',
  DECOMPRESSION_LIMIT: 'TRIBUTARY_ERR_DECOMPRESSION_LIMIT',
  ENCODING_INVALID: 'TRIBUTARY_ERR_ENCODING_INVALID',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

const BRAND = Symbol.for('tributary.error');

export interface TributaryErrorOptions {
  cause?: unknown;
  /** Structured, non-secret facts a caller may inspect (line number, url without credentials, …). */
  details?: Record<string, unknown>;
}

/**
 * The base of every error Tributary raises. Recognise one with {@link isTributaryError}, which
 * works across duplicated copies of this package, rather than `instanceof`.
 *
 * @example
 * ```ts
 * try { await host.sync('epel', opts) }
 * catch (e) { if (isTributaryError(e, 'TRIBUTARY_ERR_REPO_BUSY')) retryLater() }
 * ```
 */
export class TributaryError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly details: Record<string, unknown>;

  constructor(code: C, message: string, options: TributaryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TributaryError';
    this.code = code;
    this.details = options.details ?? {};
    Object.defineProperty(this, BRAND, { value: true });
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

/** True for any Tributary error (optionally of one code), from whichever copy of plugin-api made it. */
export function isTributaryError<C extends ErrorCode>(
  value: unknown,
  code?: C,
): value is TributaryError<C> {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (value as { code?: unknown }).code === code;
}

/**
 * A sync failed. Names the plugin, the repository and the pipeline stage where it happened; the
 * underlying typed error is `cause`, and its code is repeated in `details.causeCode`.
 */
export class SyncFailedError extends TributaryError<'TRIBUTARY_ERR_SYNC_FAILED' | 'TRIBUTARY_ERR_SYNC_CANCELLED'> {
  readonly plugin: string;
  readonly repository: string;
  readonly stage: string;

  constructor(args: { plugin: string; repository: string; stage: string; cause: unknown; cancelled?: boolean }) {
    const inner = describeCause(args.cause);
    super(
      args.cancelled ? ErrorCodes.SYNC_CANCELLED : ErrorCodes.SYNC_FAILED,
      `sync of repository '${args.repository}' with importer '${args.plugin}' ${args.cancelled ? 'was cancelled' : 'failed'} in stage ${args.stage}: ${inner}`,
      {
        cause: args.cause,
        details: {
          plugin: args.plugin,
          repository: args.repository,
          stage: args.stage,
          causeCode: isTributaryError(args.cause) ? args.cause.code : undefined,
        },
      },
    );
    this.plugin = args.plugin;
    this.repository = args.repository;
    this.stage = args.stage;
  }
}

function describeCause(cause: unknown): string {
  if (isTributaryError(cause)) return `${cause.code}: ${cause.message}`;
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

/** The innermost typed error behind a sync failure, or the error itself. */
export function rootTributaryError(value: unknown): TributaryError | undefined {
  let current: unknown = value;
  let found: TributaryError | undefined;
  for (let depth = 0; depth < 10 && current; depth++) {
    if (isTributaryError(current)) found = current;
    current = (current as { cause?: unknown }).cause;
  }
  return found;
}
