import { sourceDigest } from '../conduit/source-digest.js';
import { FINGERPRINT_FIELDS } from '../store/unit-fingerprint.js';
import { BaseVersionIndex } from './base-version-index.js';

/**
 * Content provenance for one sync (see DeclarativeContentInit.source): digests of the upstream
 * records content was built from, under the sync's context, and the base version's content rows
 * that were recorded from such a digest and whose unit nothing wrote since
 * (ProvenanceStore.repoUnitSources), read once into a typed-array table.
 *
 * A re-sync that meets a record it met before, under the same context, skips the content built
 * from it: the stored row is what that record wrote, and the importer declares (by giving a source)
 * that the same record always builds the same content. That costs a digest per unit, against
 * building, checking, encoding and hashing the whole row for a fingerprint comparison.
 */
export class ContentSources {
  private index: Promise<BaseVersionIndex> | undefined;
  private wanted = true;

  constructor(
    private readonly context: string,
    /** The base version's recorded sources, page by page; undefined when the store keeps none. */
    private readonly readPages: (() => AsyncIterable<Float64Array>) | undefined,
    private readonly checkAborted: () => void,
  ) {}

  /** Whether the store keeps sources at all (otherwise nothing is recorded or found). */
  get supported(): boolean {
    return this.readPages !== undefined;
  }

  /** The base version's recorded sources, read on first use (empty without store support). */
  table(): Promise<BaseVersionIndex> {
    this.index ??= (async () => {
      const index = new BaseVersionIndex();
      if (this.readPages === undefined) return index;
      for await (const page of this.readPages()) {
        this.checkAborted();
        // a partial table is still right, only less useful: what it lacks goes the long way
        if (!this.wanted) break;
        index.addAll(page);
      }
      return index;
    })();
    return this.index;
  }

  /** Per source, the base version's content row recorded from it and unchanged since, or -1. */
  async contentRows(sources: readonly string[]): Promise<number[]> {
    const index = await this.table();
    const probe = new Float64Array(FINGERPRINT_FIELDS);
    return sources.map((source) => {
      probe.set(sourceDigest(this.context, source));
      return index.contentRowOf(probe, 0);
    });
  }

  /** Nothing more will be asked: a read still going on stops at its next page. */
  stop(): void {
    this.wanted = false;
  }
}
