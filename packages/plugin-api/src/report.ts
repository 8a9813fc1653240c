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
}

export function totalCount(counts: CountsByType): number {
  let total = 0;
  for (const value of Object.values(counts)) total += value;
  return total;
}
