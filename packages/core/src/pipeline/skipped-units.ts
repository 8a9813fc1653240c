import {
  ErrorCodes,
  isTributaryError,
  TributaryError,
  type DeclarativeArtifact,
  type DeclarativeContent,
  type ErrorCode,
  type SkippedUnit,
} from '@tributary/plugin-api';
import { redactUrl } from '../download/index.js';

/** Units a sync skips unless told otherwise (`onError: 'skip'`, CLI `--on-error skip`). */
export const DEFAULT_SKIP_LIMIT = 100;

/**
 * What a sync does when a unit's file cannot be fetched (an error status after the retries, or
 * bytes of the wrong size or digest): `'fail'` fails the sync at the first (the default); `'skip'`
 * or `{ skip: LIMIT }` leaves such units out of the new version and lists them in the report
 * (`SyncReport.skipped`), failing the sync only when more than LIMIT (default 100) fail.
 */
export type OnArtifactError = 'fail' | 'skip' | { readonly skip: number };

/**
 * Failures that belong to one file, so leaving its unit out leaves the rest of the sync sound: the
 * remote answered with an error status after the retries, or sent bytes of the wrong size or digest.
 * A network error or a stall says the remote is unreachable rather than that a file is bad, and a
 * sync that could not reach its remote must not commit a version without everything it could not
 * fetch (a mirror would remove it all); cancellation, storage and url policy failures fail too.
 */
const SKIPPABLE: ReadonlySet<ErrorCode> = new Set([ErrorCodes.HTTP_STATUS, ErrorCodes.DIGEST_MISMATCH, ErrorCodes.SIZE_MISMATCH]);

/**
 * The units of one sync that ArtifactDownloader leaves out because a file of theirs failed (see
 * {@link SKIPPABLE}), up to `limit` of them: the next one fails the sync with its own error code,
 * as a sync that skips nothing fails at the first. A skipped content is resolved with `undefined`
 * (so content awaiting it goes on) and goes no further: it is neither saved nor associated, and its
 * other files, downloaded or not, are not stored.
 */
export class SkippedUnits {
  private skipped = 0;

  /**
   * @param limit how many units may be left out (a non-negative integer)
   * @param onSkipped told of each one, in order (the sync's report, log and events)
   */
  constructor(
    readonly limit: number,
    private readonly onSkipped: (unit: SkippedUnit) => void = () => undefined,
  ) {
    if (!Number.isInteger(limit) || limit < 0) {
      throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `the number of units a sync may skip must be a non-negative integer, got ${limit}`, { details: { limit } });
    }
  }

  /** Units left out so far. */
  get count(): number {
    return this.skipped;
  }

  /**
   * Leaves `dc` out for the failure of `artifact` when the failure is one a unit is skipped for:
   * resolves it and returns true. Returns false for a failure that fails the sync; throws once more
   * than `limit` units failed.
   */
  skip(dc: DeclarativeContent, artifact: DeclarativeArtifact, error: unknown): boolean {
    if (!isTributaryError(error) || !SKIPPABLE.has(error.code)) return false;
    if (this.skipped >= this.limit) {
      throw new TributaryError(
        error.code,
        `${this.limit + 1} units' files failed, more than the ${this.limit} the sync may skip; the last, '${dc.typeId}' ${JSON.stringify(dc.key)}: ${error.message}`,
        { cause: error, details: { ...error.details, typeId: dc.typeId, key: dc.key, relativePath: artifact.relativePath, skipLimit: this.limit } },
      );
    }
    this.skipped++;
    // resolve() completes with `unit` when given none; a unit found stored must not be handed out
    dc.unit = undefined;
    dc.resolve();
    const url = typeof error.details['url'] === 'string' ? error.details['url'] : redactUrl(artifact.urls[artifact.urls.length - 1]!);
    this.onSkipped({ typeId: dc.typeId, key: dc.key, relativePath: artifact.relativePath, url, code: error.code, message: error.message });
    return true;
  }
}

/** The units a sync may leave out, from its `onError`; undefined when it fails at the first. */
export function skipLimitOf(onError: OnArtifactError | undefined): number | undefined {
  if (onError === undefined || onError === 'fail') return undefined;
  if (onError === 'skip') return DEFAULT_SKIP_LIMIT;
  const limit = typeof onError === 'object' && onError !== null ? onError.skip : undefined;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) {
    throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `onError must be 'fail', 'skip' or { skip: LIMIT } with LIMIT a non-negative integer, got ${safeJson(onError)}`, {
      details: { onError: safeJson(onError) },
    });
  }
  return limit;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
