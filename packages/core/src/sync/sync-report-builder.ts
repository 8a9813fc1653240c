import type { CountsByType, SkippedUnit, SyncReport } from '@tributary/plugin-api';

const MAX_LOG_LINES = 1000;
/** Skipped units listed in a report; beyond it they are only counted. */
const MAX_SKIPPED_LISTED = 1000;

/** Accumulates a sync's report as the conduit observes what the sync does. */
export class SyncReportBuilder {
  private added: CountsByType = {};
  private updated: CountsByType = {};
  private removed: CountsByType = {};
  private readonly logLines: string[] = [];
  private droppedLogLines = 0;
  private finishedEarlyReason: string | undefined;
  /** Artifacts downloaded (metadata files apart: {@link metadata}). */
  readonly downloaded = { count: 0, bytes: 0 };
  /** Index and metadata files the importer downloaded itself. */
  readonly metadata = { count: 0, bytes: 0 };
  timings: Record<string, number> = {};
  private readonly skippedUnits: SkippedUnit[] = [];
  private skippedCount = 0;
  private skipLimit: number | undefined;

  addAdded(counts: CountsByType): void {
    merge(this.added, counts);
  }
  addUpdated(counts: CountsByType): void {
    merge(this.updated, counts);
  }
  addRemoved(counts: CountsByType): void {
    merge(this.removed, counts);
  }
  finishEarly(reason: string): void {
    this.finishedEarlyReason = reason;
  }
  get finishedEarly(): string | undefined {
    return this.finishedEarlyReason;
  }
  /**
   * Forgets the units counted as added, updated and removed: the version they went into was rolled
   * back (a failure, a cancellation, an early finish), and a report tells only what was committed.
   */
  discardChanges(): void {
    this.added = {};
    this.updated = {};
    this.removed = {};
  }
  /** True when the sync changed which units the repository holds. */
  get changedContent(): boolean {
    return hasAny(this.added) || hasAny(this.removed);
  }
  totals(): { added: number; updated: number; removed: number } {
    return { added: sum(this.added), updated: sum(this.updated), removed: sum(this.removed) };
  }
  /** The sync leaves out units whose files fail, up to `limit` of them. */
  skipUpTo(limit: number): void {
    this.skipLimit = limit;
  }
  /** A unit left out of the version: kept in the report whether the sync commits or fails. */
  addSkipped(unit: SkippedUnit): void {
    this.skippedCount++;
    if (this.skippedUnits.length < MAX_SKIPPED_LISTED) this.skippedUnits.push(unit);
  }
  /** Units left out so far. */
  get skipped(): number {
    return this.skippedCount;
  }
  log(line: string): void {
    if (this.logLines.length < MAX_LOG_LINES) this.logLines.push(line);
    else this.droppedLogLines++;
  }

  build(): SyncReport {
    const log = this.droppedLogLines > 0 ? [...this.logLines, `(${this.droppedLogLines} more log lines dropped)`] : [...this.logLines];
    return {
      added: { ...this.added },
      updated: { ...this.updated },
      removed: { ...this.removed },
      downloaded: { ...this.downloaded },
      metadata: { ...this.metadata },
      ...(this.finishedEarlyReason !== undefined ? { finishedEarly: this.finishedEarlyReason } : {}),
      log,
      timings: { ...this.timings },
      ...(this.skippedCount > 0 ? { skipped: { count: this.skippedCount, limit: this.skipLimit ?? this.skippedCount, units: [...this.skippedUnits] } } : {}),
    };
  }
}

function merge(into: CountsByType, counts: CountsByType): void {
  for (const [type, n] of Object.entries(counts)) {
    if (n) into[type] = (into[type] ?? 0) + n;
  }
}

function hasAny(counts: CountsByType): boolean {
  return Object.values(counts).some((n) => n > 0);
}

function sum(counts: CountsByType): number {
  let total = 0;
  for (const n of Object.values(counts)) total += n;
  return total;
}
