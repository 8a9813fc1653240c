import type { DeclarativeContent } from '@tributary/plugin-api';
import { compactKey } from '../metadata/compact-key.js';
import { nevraOf, type Nevra } from '../metadata/primary-package.js';
import { NevraSet } from './nevra-set.js';

/**
 * Multi-level discovery with bounded memory: which package units of this sync each advisory
 * links to.
 *
 * Packages are named by `compactKey(nevra)` inside, so nothing here pins parser buffers. Every
 * package of primary is offered; a {@link NevraSet} of the wanted NEVRAs turns nearly all of them
 * away before any key is made.
 *
 * updateinfo.xml is read once before primary.xml to learn the NEVRAs advisories name (at most
 * `maxLinks` of them: the set is the only thing that grows with updateinfo's size). While primary
 * streams, only packages with such a NEVRA are remembered, as their DeclarativeContent; once the
 * pipeline has saved one, the entry shrinks to its unit id, so the package (whose key strings would
 * keep all of its text alive) can be freed.
 * When advisories are emitted, each awaits the futures of the packages it lists.
 */
export class AdvisoryPackageLinks {
  private readonly wanted = new Set<string>();
  private readonly wantedHashes = new NevraSet();
  /** By key: the package while the pipeline has it, then its unit id (null when it was not saved). */
  private readonly found = new Map<string, DeclarativeContent | string | null>();
  private pending: string[] = [];
  private compactAt = 1024;
  /** Distinct NEVRAs named by advisories beyond `maxLinks`: listed, never linked. */
  overflow = 0;

  constructor(private readonly maxLinks: number) {}

  /** Records that an advisory names `nevra`. */
  want(nevra: Nevra): void {
    const key = compactKey(nevraOf(nevra));
    if (this.wanted.has(key)) return;
    if (this.wanted.size >= this.maxLinks) {
      this.overflow++;
      return;
    }
    this.wanted.add(key);
    this.wantedHashes.add(nevra);
  }

  get wantedCount(): number {
    return this.wanted.size;
  }

  /** Packages still held as whole DeclarativeContent (not yet shrunk to a UnitRef): what memory it costs. */
  get heldContents(): number {
    return this.pending.length;
  }

  /** Offers a package of this sync; kept only if an advisory names it (the first one seen wins). */
  offer(nevra: Nevra, content: DeclarativeContent): void {
    if (!this.wantedHashes.has(nevra)) return;
    const key = compactKey(nevraOf(nevra));
    if (!this.wanted.has(key) || this.found.has(key)) return;
    this.found.set(key, content);
    this.pending.push(key);
    if (this.pending.length >= this.compactAt) this.compact();
  }

  /**
   * Unit ids of the packages (by NEVRA) that this sync created, in the order given, awaiting the
   * futures of those the pipeline has not saved yet. Packages not in this sync are left out.
   */
  async unitIds(nevras: readonly Nevra[]): Promise<string[]> {
    const ids: string[] = [];
    const seen = new Set<string>();
    for (const nevra of nevras) {
      const entry = this.found.size > 0 ? this.found.get(compactKey(nevraOf(nevra))) : undefined;
      if (!entry) continue;
      const unitId = typeof entry === 'string' ? entry : (await entry.resolution())?.unitId;
      if (unitId !== undefined && !seen.has(unitId)) {
        seen.add(unitId);
        ids.push(unitId);
      }
    }
    return ids;
  }

  /** Shrinks saved packages to their unit id; amortised so each entry is rescanned O(1) times. */
  private compact(): void {
    const stillPending: string[] = [];
    for (const nevra of this.pending) {
      const entry = this.found.get(nevra);
      if (!entry || typeof entry === 'string') continue;
      if (entry.resolved) {
        this.found.set(nevra, entry.unit?.unitId ?? null);
      } else {
        stillPending.push(nevra);
      }
    }
    this.pending = stillPending;
    this.compactAt = Math.max(1024, stillPending.length * 2);
  }
}
