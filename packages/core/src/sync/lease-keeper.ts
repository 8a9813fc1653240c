import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import type { ContentStore } from '../store/content-store.js';
import { waitWhileCleanupRuns } from './cleanup-gate.js';

/**
 * Holds a repository's sync lease: takes it, renews it every third of its time to live while the
 * sync runs, and reports when it was lost (this host stalled past expiry and another host took it).
 */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private lostHandlers: Array<() => void> = [];
  private held = false;

  constructor(
    private readonly store: ContentStore,
    private readonly repoId: string,
    private readonly holder: string,
    private readonly ttlMs: number,
  ) {}

  /**
   * Takes the lease; then, holding it, waits while an orphan cleanup runs (see cleanup-gate.ts:
   * the lease first and the check second is what keeps the two apart).
   */
  async acquire(): Promise<boolean> {
    this.held = await this.store.acquireLease(this.repoId, this.holder, this.ttlMs);
    if (this.held) {
      this.timer = setInterval(() => void this.renew(), Math.max(50, Math.floor(this.ttlMs / 3)));
      this.timer.unref();
      try {
        await waitWhileCleanupRuns(this.store);
      } catch (error) {
        await this.release();
        throw error;
      }
    }
    return this.held;
  }

  onLost(handler: () => void): void {
    this.lostHandlers.push(handler);
  }

  /** Renews now; throws TRIBUTARY_ERR_LEASE_LOST if the lease is gone (so the caller must not commit). */
  async renewOrThrow(): Promise<void> {
    if (!(await this.renew())) {
      throw new TributaryError(ErrorCodes.LEASE_LOST, `the sync lease on repository ${this.repoId} was lost; another host may be syncing it`);
    }
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.held) {
      this.held = false;
      await this.store.releaseLease(this.repoId, this.holder).catch(() => undefined);
    }
  }

  private async renew(): Promise<boolean> {
    if (!this.held) return false;
    const ok = await this.store.renewLease(this.repoId, this.holder, this.ttlMs).catch(() => false);
    if (!ok && this.held) {
      this.held = false;
      if (this.timer) clearInterval(this.timer);
      for (const handler of this.lostHandlers) handler();
    }
    return ok;
  }
}
