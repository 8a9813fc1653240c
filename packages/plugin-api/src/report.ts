import type { UnitKey } from './content.js';

/** Counts per content type id. */
export type CountsByType = Record<string, number>;

/**
 * What a sync did. Kept in the repository's sync history; the counts are what other automation
 * keys on (the seed's "triggers for other things that may need to happen").
 */
export interface SyncReport {
  readonly added: CountsByType;
  readonly updated: CountsByType;
  readonly removed: CountsByType;
  /** Artifacts fetched from upstream in this sync, and their bytes (metadata files not included). */
  readonly downloaded: { readonly count: number; readonly bytes: number };
  /**
   * Index and metadata files the importer fetched itself (a PULP_MANIFEST, repomd.xml and the files
   * it lists), and their bytes. Absent from reports recorded before it existed; a conduit-style
   * importer's downloads are all counted in `downloaded`, the host cannot tell them apart.
   */
  readonly metadata?: { readonly count: number; readonly bytes: number };
  /** Set when the importer saw nothing had changed upstream and finished without comparing units. */
  readonly finishedEarly?: string;
  /** Human-readable log lines, oldest first. */
  readonly log: readonly string[];
  /** Milliseconds spent, per pipeline stage (or `sync` for a conduit-style plugin) and in total. */
  readonly timings: Readonly<Record<string, number>>;
  /**
   * Units left out of the new version because a file of theirs could not be fetched, in a sync
   * told to skip such units (`onError: { skip: LIMIT }`, CLI `--on-error skip[:LIMIT]`). Present
   * only when the sync skipped at least one; absent from reports recorded before it existed.
   */
  readonly skipped?: SkippedUnits;
}

/** The units a sync left out because their files failed, and the limit it skipped them under. */
export interface SkippedUnits {
  /** How many units were left out (the list below stops at 1,000). */
  readonly count: number;
  /** How many the sync could skip before failing as a whole. */
  readonly limit: number;
  /** The units, in the order they failed. */
  readonly units: readonly SkippedUnit[];
}

/**
 * A unit left out of a sync's new version: the file that failed, where it came from and why. A unit
 * the version it started from already held stays in an additive sync (unchanged, as it was) and is
 * removed by a mirror sync (upstream's copy could not be had).
 */
export interface SkippedUnit {
  readonly typeId: string;
  readonly key: UnitKey;
  /** The file of the unit that failed. */
  readonly relativePath: string;
  /** The url it was fetched from, without credentials (secret query values masked). */
  readonly url: string;
  /** The error's code: TRIBUTARY_ERR_HTTP_STATUS, _DIGEST_MISMATCH or _SIZE_MISMATCH. */
  readonly code: string;
  readonly message: string;
}

export function totalCount(counts: CountsByType): number {
  let total = 0;
  for (const value of Object.values(counts)) total += value;
  return total;
}
