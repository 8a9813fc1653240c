import type { DeclarativeContent } from '@tributary/plugin-api';
import type { Nevra } from '../metadata/primary-package.js';
import { NevraMap } from './nevra-map.js';

/** An advisory names the NEVRA; no package of this sync has it yet. */
const WANTED = true;

/** A package being saved, with its NEVRA (no more than the NEVRA's own strings). */
interface PendingPackage {
  readonly nevra: Nevra;
  readonly content: DeclarativeContent;
}

/**
 * Multi-level discovery with bounded memory: which package units of this sync each advisory
 * links to.
 *
 * updateinfo.xml is read once before primary.xml to learn the NEVRAs advisories name (at most
 * `maxLinks` of them: the map is the only thing that grows with updateinfo's size, and it holds
 * hashes, not strings; see {@link NevraMap}). While primary streams, only packages with such a
 * NEVRA are remembered, as their DeclarativeContent; once the pipeline has saved one, the entry
 * shrinks to its unit id, so the package (whose key strings would keep all of its text alive) can
 * be freed. When advisories are emitted, each awaits the futures of the packages it lists.
 */
export class AdvisoryPackageLinks {
  /** By NEVRA: wanted, then the package while the pipeline has it, then its unit id (null when not saved). */
  private readonly links = new NevraMap<typeof WANTED | DeclarativeContent | string | null>();
  private pending: PendingPackage[] = [];
  private compactAt = 1024;
  /** Distinct NEVRAs named by advisories beyond `maxLinks`: listed, never linked. */
  overflow = 0;

  constructor(private readonly maxLinks: number) {}

  /** Records that an advisory names `nevra`. */
  want(nevra: Nevra): void {
    if (this.links.has(nevra)) return;
    if (this.links.size >= this.maxLinks) {
      this.overflow++;
      return;
    }
    this.links.set(nevra, WANTED);
  }

  get wantedCount(): number {
    return this.links.size;
  }

  /** Packages still held as whole DeclarativeContent (not yet shrunk to a unit id): what memory it costs. */
  get heldContents(): number {
    return this.pending.length;
  }

  /** Offers a package of this sync; kept only if an advisory names it (the first one seen wins). */
  offer(nevra: Nevra, content: DeclarativeContent): void {
    if (this.links.get(nevra) !== WANTED) return;
    this.links.set(nevra, content);
    // a small NEVRA of its own: the offered object may hold the whole package
    this.pending.push({ nevra: { name: nevra.name, epoch: nevra.epoch, version: nevra.version, release: nevra.release, arch: nevra.arch }, content });
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
      const entry = this.links.get(nevra);
      if (entry === undefined || entry === null || entry === WANTED) continue;
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
    const stillPending: PendingPackage[] = [];
    for (const pending of this.pending) {
      if (pending.content.resolved) this.links.set(pending.nevra, pending.content.unit?.unitId ?? null);
      else stillPending.push(pending);
    }
    this.pending = stillPending;
    this.compactAt = Math.max(1024, stillPending.length * 2);
  }
}
