import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import type { ContentStore } from '../store/content-store.js';

/**
 * The catalog-wide lease orphan cleanup holds while it runs.
 *
 * Why: cleanup deletes what no version holds, and a sync re-uses what the catalog holds (an
 * artifact found by digest is not downloaded again). Checking repository leases and then deleting
 * left a window in which a sync could start, find an orphaned artifact, and lose it to the delete.
 * Now each side takes its own lease first and checks the other's second: cleanup takes this lease,
 * then refuses if any repository lease is live; a sync (or any other change under a repository
 * lease) takes its repository lease, then waits while this lease is live. Whichever wrote second
 * sees the other, so they never overlap.
 */
export const ORPHAN_CLEANUP_LEASE = 'orphan-cleanup';

/** How often a change waiting for orphan cleanup to finish looks again. */
const WAIT_POLL_MS = 200;

/** Resolves once no orphan cleanup holds its lease (at once when none does); rejects when `signal` aborts. */
export async function waitWhileCleanupRuns(store: ContentStore, signal?: AbortSignal): Promise<void> {
  for (;;) {
    const lease = await store.getCatalogLease(ORPHAN_CLEANUP_LEASE);
    if (lease === undefined || lease.expiresAt <= Date.now()) return;
    signal?.throwIfAborted();
    await new Promise<void>((resolve) => setTimeout(resolve, WAIT_POLL_MS).unref());
  }
}

/** Holds the orphan-cleanup lease while cleanup runs, renewing it every third of its time to live. */
export class CleanupLease {
  private timer: NodeJS.Timeout | undefined;
  private held = false;

  constructor(
    private readonly store: ContentStore,
    private readonly holder: string,
    private readonly ttlMs: number,
  ) {}

  /** Takes the lease; TRIBUTARY_ERR_REPO_BUSY when another cleanup holds it. */
  async acquire(): Promise<void> {
    if (!(await this.store.acquireCatalogLease(ORPHAN_CLEANUP_LEASE, this.holder, this.ttlMs))) {
      const other = await this.store.getCatalogLease(ORPHAN_CLEANUP_LEASE);
      throw new TributaryError(
        ErrorCodes.REPO_BUSY,
        `another orphan cleanup is running (held by ${other?.holder ?? 'another host'}${other ? ` until ${new Date(other.expiresAt).toISOString()}` : ''}); try again when it finishes`,
        { details: { holder: other?.holder, expiresAt: other?.expiresAt } },
      );
    }
    this.held = true;
    this.timer = setInterval(() => void this.store.renewCatalogLease(ORPHAN_CLEANUP_LEASE, this.holder, this.ttlMs).catch(() => false), Math.max(50, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.held) return;
    this.held = false;
    await this.store.releaseCatalogLease(ORPHAN_CLEANUP_LEASE, this.holder).catch(() => undefined);
  }
}
