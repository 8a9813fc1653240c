import { inject, injectable } from 'tsyringe';
import type { ContentStore, SeenUnit } from '../store/content-store.js';
import { CONTENT_STORE, HOST_OPTIONS, type HostOptionsToken } from '../tokens.js';
import { SYNC_SCOPE, type SyncScope } from './sync-scope.js';

/**
 * Seen marks of one sync: content of the base version found unchanged is marked seen by the
 * version being written instead of being associated again. Marks are written while the sync goes
 * on, one batch in flight; a failure surfaces at the next {@link write} or at {@link settled},
 * which whatever depends on the marks (removing unseen units, the commit) awaits first.
 */
@injectable()
export class SeenMarks {
  private inFlight: Promise<void> = Promise.resolve();
  private readonly batchSize: number;

  constructor(
    @inject(CONTENT_STORE) private readonly store: ContentStore,
    @inject(SYNC_SCOPE) private readonly scope: SyncScope,
    @inject(HOST_OPTIONS) options: HostOptionsToken,
  ) {
    this.batchSize = options.batchSize;
  }

  /** Starts writing `rows`; returns once the last batch is sent (the one before it written). */
  async write(rows: readonly SeenUnit[]): Promise<void> {
    for (let start = 0; start < rows.length; start += this.batchSize) {
      await this.inFlight;
      this.inFlight = this.store.markSeen(this.scope.repository.id, this.scope.version, rows.slice(start, start + this.batchSize));
      this.inFlight.catch(() => undefined); // surfaces where it is awaited
    }
  }

  /** Resolves once every mark started so far is written. */
  settled(): Promise<void> {
    return this.inFlight;
  }
}
