import type { FingerprintCursor, FingerprintPage } from '../catalog/sqlite-repo-unit-pages.js';

/** Reads one page of a version's unit fingerprints (SqliteContentStore.fingerprintsPage), or of its recorded sources (`sourcesPage`, remote unused). */
export type ReadFingerprintPage = (repoId: string, version: number, remote: string, after: FingerprintCursor | undefined, limit: number) => FingerprintPage;

/**
 * Fingerprint pages read ahead on the catalog thread. A re-sync reads its base version's
 * fingerprints page after page, and the pipeline's thread, busy parsing the importer's index,
 * is slow to ask for the next; so after answering a page the catalog thread reads the following
 * ones in its idle time, one a turn of its event loop (a request that comes meanwhile waits for
 * at most one page), up to `depth` pages (at 1,000 units a page, 32 KB each).
 *
 * A base version does not change while a sync reads it; still, any other request drops what was
 * read ahead ({@link drop}), so nothing answered is older than the last write.
 */
export class FingerprintReadAhead {
  private stream: string | undefined;
  private readonly pages = new Map<string, FingerprintPage>();
  /** Where the next page to read ahead starts; undefined when the stream has no more. */
  private frontier: FingerprintCursor | undefined;
  /** The generation a read is scheduled for, or -1. */
  private scheduledFor = -1;
  private generation = 0;

  constructor(
    private readonly read: ReadFingerprintPage,
    private readonly depth = 4,
  ) {}

  /** The page, from what was read ahead when it is there; then reads further ahead. */
  page(repoId: string, version: number, remote: string, after: FingerprintCursor | undefined, limit: number): FingerprintPage {
    const stream = JSON.stringify([repoId, version, remote, limit]);
    const at = cursorKey(after);
    let page = stream === this.stream ? this.pages.get(at) : undefined;
    if (page === undefined) {
      this.drop();
      page = this.read(repoId, version, remote, after, limit);
      this.stream = stream;
      this.frontier = page.next;
    } else {
      this.pages.delete(at);
    }
    this.schedule(repoId, version, remote, limit);
    return page;
  }

  /** Forgets what was read ahead and stops reading further. */
  drop(): void {
    this.generation++;
    this.stream = undefined;
    this.frontier = undefined;
    this.pages.clear();
  }

  private schedule(repoId: string, version: number, remote: string, limit: number): void {
    const generation = this.generation;
    if (this.scheduledFor === generation || this.frontier === undefined || this.pages.size >= this.depth) return;
    this.scheduledFor = generation;
    setImmediate(() => {
      if (this.scheduledFor === generation) this.scheduledFor = -1;
      const after = this.frontier;
      if (generation !== this.generation || after === undefined || this.pages.size >= this.depth) return;
      let page: FingerprintPage;
      try {
        page = this.read(repoId, version, remote, after, limit);
      } catch {
        return; // asked for, the page is read again and its error answered then
      }
      this.pages.set(cursorKey(after), page);
      this.frontier = page.next;
      this.schedule(repoId, version, remote, limit);
    });
  }
}

function cursorKey(after: FingerprintCursor | undefined): string {
  return after === undefined ? '' : JSON.stringify([after.typeId, after.unitId ?? null]);
}
