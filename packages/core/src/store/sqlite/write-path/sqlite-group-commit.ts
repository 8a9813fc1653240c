import type { Database, Statement } from 'better-sqlite3';

export interface GroupCommitOptions {
  /** Commit once this many rows were written since the group began. Default 200,000. */
  readonly maxRows?: number;
  /**
   * Commit a group at the latest this long after it began, so other processes sharing the file
   * wait for the write lock at most about this long. Default 1,000 ms.
   */
  readonly maxAgeMs?: number;
  /**
   * After a group commits because it was full or old, the thread waits this long before writing
   * again, so another process waiting for the write lock (SQLite's busy handler polls every few
   * tens of milliseconds) gets its turn instead of finding the lock taken again at once. At most
   * a few percent of a long sync's time. Default 50 ms; 0 turns it off.
   */
  readonly pauseMs?: number;
}

/**
 * Group commit for the sync path's bulk writes.
 *
 * A sync writes units, artifacts and content rows keyed by hashes, so every batch dirties pages
 * all over the indexes, and committing each batch rewrites those pages to the write-ahead log each
 * time. Measured on this project's 2-core VM: 200,000 units of four randomly keyed inserts cost
 * 47 µs a unit committed per 1,000 units and 15 µs committed per 50,000.
 *
 * So bulk writes run, each in its own savepoint (a failing call undoes only itself), inside one
 * longer transaction that commits when it holds `maxRows` rows, when it is `maxAgeMs` old (a timer,
 * so an idle sync releases the lock too), before any other write, on close and at process exit.
 * Between groups the thread pauses briefly (`pauseMs`), so other processes sharing the file get the
 * write lock too.
 *
 * Nothing depends on bulk writes being durable before a version commits: `commitVersion` is a plain
 * write, so it commits the group first, and a crash loses only rows of an uncommitted version (which
 * the next `beginVersion` rolls back anyway) and catalog rows the next sync writes again. The one
 * thing a group must not do is vanish silently: if SQLite rolls the whole transaction back (disk
 * full, I/O error) or its commit fails, {@link losses} counts it, and the store refuses to commit a
 * version begun before the loss.
 */
export class SqliteGroupCommit {
  /** Groups lost so far (rolled back by SQLite or failed to commit). */
  losses = 0;
  private open = false;
  private openedAt = 0;
  private rows = 0;
  private timer: NodeJS.Timeout | undefined;
  private deferredFailure: unknown;
  private readonly maxRows: number;
  private readonly maxAgeMs: number;
  private readonly pauseMs: number;
  private readonly begin: Statement;
  private readonly commit: Statement;
  private readonly rollback: Statement;

  /**
   * @param afterCommit runs after each group that committed (the store asks its checkpoint thread
   *   to copy the log then).
   */
  constructor(
    private readonly db: Database,
    options: GroupCommitOptions = {},
    private readonly afterCommit: () => void = () => undefined,
  ) {
    this.maxRows = options.maxRows ?? 200_000;
    this.maxAgeMs = options.maxAgeMs ?? 1000;
    this.pauseMs = options.pauseMs ?? 50;
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    liveGroups.add(this);
  }

  /** Runs `body` (which writes about `rows` rows) in a savepoint of the open group. */
  run<T>(rows: number, body: () => T): T {
    this.throwDeferredFailure();
    if (!this.open) {
      this.begin.run();
      this.open = true;
      this.openedAt = Date.now();
      this.rows = 0;
      this.timer = setTimeout(() => this.flushQuietly(), this.maxAgeMs);
      this.timer.unref();
    }
    let result: T;
    try {
      result = this.db.transaction(body)();
    } catch (error) {
      this.noticeLoss();
      throw error;
    }
    this.rows += rows;
    if (this.rows >= this.maxRows || Date.now() - this.openedAt >= this.maxAgeMs) {
      this.flush();
      if (this.pauseMs > 0) Atomics.wait(PAUSE, 0, 0, this.pauseMs);
    }
    return result;
  }

  /** Commits the open group, if any; throws what the commit (or an earlier timed commit) threw. */
  flush(): void {
    this.throwDeferredFailure();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.open) return;
    this.open = false;
    if (!this.db.inTransaction) {
      this.losses++;
      return;
    }
    try {
      this.commit.run();
    } catch (error) {
      this.losses++;
      if (this.db.inTransaction) this.rollback.run();
      throw error;
    }
    // at exit nothing may start (a checkpoint thread, say): the last connection's close checkpoints
    if (!exiting) this.afterCommit();
  }

  /** Commits what is pending and stops listening for process exit. */
  close(): void {
    liveGroups.delete(this);
    if (this.db.open) this.flush();
  }

  /** A timed or exit-time commit has nobody to throw to: the next call gets its failure. */
  flushQuietly(): void {
    try {
      if (this.db.open) this.flush();
    } catch (error) {
      this.deferredFailure = error;
    }
  }

  private throwDeferredFailure(): void {
    const failure = this.deferredFailure;
    if (failure === undefined) return;
    this.deferredFailure = undefined;
    throw failure;
  }

  /** After a failed statement: did SQLite roll the whole group back? */
  private noticeLoss(): void {
    if (this.open && !this.db.inTransaction) {
      this.open = false;
      this.losses++;
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

/** Something to `Atomics.wait` on: a synchronous sleep that lets other processes take the lock. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** Open groups, committed when the process exits normally without closing its stores. */
const liveGroups = new Set<SqliteGroupCommit>();
let exiting = false;
process.on('exit', () => {
  exiting = true;
  for (const group of liveGroups) group.flushQuietly();
});
