import type { SqliteContentStore } from '../sqlite-content-store.js';
import { FingerprintReadAhead } from './fingerprint-read-ahead.js';
import { WORKER_METHODS, type PageReaders, type WorkerMethod } from './sqlite-worker-methods.js';

/** The table, seen from the catalog's side: each entry's arguments are whatever its caller's side sent. */
type Served = { readonly kind: 'plain' | 'byHand' } | { readonly kind: 'paged'; readonly page: keyof PageReaders } | Serving;
interface Serving {
  readonly kind: 'encoded';
  readonly serve: (catalog: SqliteContentStore, ...wire: never[]) => unknown;
}
type Call = (...args: readonly unknown[]) => unknown;

/**
 * Runs requests made by a {@link SqliteWorkerStore} on a {@link SqliteContentStore} as
 * {@link WORKER_METHODS} says: on the catalog thread (sqlite-store-worker.ts), and on the calling
 * thread before the store moves there, so both answer the same call the same way.
 *
 * `readAhead`: read a stream's next fingerprint pages while idle (on the thread; on the calling
 * thread a read ahead would only take time from the sync).
 */
export class CatalogDispatch {
  private readonly pages: PageReaders;
  private readonly readAhead: FingerprintReadAhead | undefined;
  private readonly sourcesAhead: FingerprintReadAhead | undefined;

  constructor(
    readonly store: SqliteContentStore,
    options: { readonly readAhead: boolean },
  ) {
    if (options.readAhead) {
      this.readAhead = new FingerprintReadAhead((...args) => store.fingerprintsPage(...args));
      this.sourcesAhead = new FingerprintReadAhead((repoId, version, _remote, after, limit) => store.sourcesPage(repoId, version, after, limit));
    }
    const readAhead = this.readAhead;
    const sourcesAhead = this.sourcesAhead;
    this.pages = {
      unitKeysPage: (...args) => store.unitKeysPage(...args),
      unitsPage: (...args) => store.unitsPage(...args),
      unitsPageJson: (...args) => store.unitsPageJson(...args),
      fingerprintsPage: (...args) => (readAhead ? readAhead.page(...args) : store.fingerprintsPage(...args)),
      sourcesPage: (repoId, version, after, limit) => (sourcesAhead ? sourcesAhead.page(repoId, version, '', after, limit) : store.sourcesPage(repoId, version, after, limit)),
      diffPage: (...args) => store.diffPage(...args),
      catalogUnitsPage: (...args) => store.catalogUnitsPage(...args),
    };
  }

  /** Runs one request: its value, or a promise of it (the store's methods are async). Throws a refusal as the store does. */
  serve(method: string, args: readonly unknown[]): unknown {
    const entry: Served | undefined = Object.hasOwn(WORKER_METHODS, method) ? WORKER_METHODS[method as WorkerMethod] : undefined;
    if (entry === undefined) throw new Error(`unknown catalog method '${method}'`);
    // any other request drops what was read ahead, so nothing answered is older than the last write
    if (method !== 'repoUnitFingerprints') this.readAhead?.drop();
    if (method !== 'repoUnitSources') this.sourcesAhead?.drop();
    switch (entry.kind) {
      case 'encoded':
        return (entry.serve as (catalog: SqliteContentStore, ...wire: readonly unknown[]) => unknown)(this.store, ...args);
      case 'paged':
        return (this.pages[entry.page] as Call)(...args);
      default:
        return (this.store[method as keyof SqliteContentStore] as Call).call(this.store, ...args);
    }
  }
}
