import type { Nevra } from '../metadata/primary-package.js';
import { NEVRA_HASH, nevraHash } from './nevra-hash.js';

const INITIAL_SLOTS = 1024;

/**
 * A set of NEVRAs that costs 16 to 32 bytes per NEVRA, outside the JavaScript heap: the 64-bit hash
 * of `name-epoch:version-release.arch` in an open-addressing table of two typed arrays. A sync
 * keeps one entry per package of primary.xml, so a Set of strings would be the only part of the
 * importer's memory that grows with the repository (about 100 bytes a package, and heap the
 * garbage collector walks again and again).
 *
 * Two different NEVRAs may share a hash (see {@link nevraHash}): such a pair would look like a
 * duplicate, and the later package would be dropped (and logged).
 */
export class NevraSet {
  /** Slot i holds a hash at [2i] (high half) and [2i + 1] (low half); zeroes mark a free slot. */
  private slots = new Uint32Array(2 * INITIAL_SLOTS);
  private entries = 0;

  get size(): number {
    return this.entries;
  }

  /** Adds `nevra`; false when it (or a NEVRA with the same hash) is there already. */
  add(nevra: Nevra): boolean {
    nevraHash(nevra);
    const high = NEVRA_HASH[0]!;
    const low = NEVRA_HASH[1]!;
    if (this.find(high, low)) return false;
    if ((this.entries + 1) * 4 > this.slots.length) this.grow();
    this.insert(high, low);
    this.entries++;
    return true;
  }

  /** Whether `nevra` (or a NEVRA with the same hash) was added. */
  has(nevra: Nevra): boolean {
    if (this.entries === 0) return false;
    nevraHash(nevra);
    return this.find(NEVRA_HASH[0]!, NEVRA_HASH[1]!);
  }

  private find(high: number, low: number): boolean {
    const slots = this.slots;
    const mask = (slots.length >>> 1) - 1;
    for (let slot = low & mask; ; slot = (slot + 1) & mask) {
      const h = slots[2 * slot]!;
      const l = slots[2 * slot + 1]!;
      if (h === high && l === low) return true;
      if (h === 0 && l === 0) return false;
    }
  }

  private insert(high: number, low: number): void {
    const slots = this.slots;
    const mask = (slots.length >>> 1) - 1;
    let slot = low & mask;
    while (slots[2 * slot] !== 0 || slots[2 * slot + 1] !== 0) slot = (slot + 1) & mask;
    slots[2 * slot] = high;
    slots[2 * slot + 1] = low;
  }

  /** Doubles the table once it is half full, so probes stay short. */
  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0 || old[i + 1] !== 0) this.insert(old[i]!, old[i + 1]!);
  }
}
