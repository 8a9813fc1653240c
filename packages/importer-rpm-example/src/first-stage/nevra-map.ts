import type { Nevra } from '../metadata/primary-package.js';
import { NEVRA_HASH, nevraHash } from './nevra-hash.js';

const INITIAL_SLOTS = 1024;

/**
 * A map from NEVRA to a value that holds no string: each key is the 64-bit hash of the NEVRA (see
 * {@link nevraHash}) in a typed array, each value a reference. Advisories may name every package
 * of a repository; a Map keyed by strings would hold one per package for the whole sync.
 */
export class NevraMap<T> {
  /** Slot i holds a hash at [2i] (high half) and [2i + 1] (low half); zeroes mark a free slot. */
  private slots = new Uint32Array(2 * INITIAL_SLOTS);
  private values: (T | undefined)[] = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined);
  private entries = 0;

  get size(): number {
    return this.entries;
  }

  /** The value of `nevra` (or of a NEVRA with the same hash), if any. */
  get(nevra: Nevra): T | undefined {
    if (this.entries === 0) return undefined;
    nevraHash(nevra);
    const slot = this.slotOf(NEVRA_HASH[0]!, NEVRA_HASH[1]!);
    return this.slots[2 * slot] !== 0 || this.slots[2 * slot + 1] !== 0 ? this.values[slot] : undefined;
  }

  /** Whether `nevra` (or a NEVRA with the same hash) has a value. */
  has(nevra: Nevra): boolean {
    if (this.entries === 0) return false;
    nevraHash(nevra);
    const slot = this.slotOf(NEVRA_HASH[0]!, NEVRA_HASH[1]!);
    return this.slots[2 * slot] !== 0 || this.slots[2 * slot + 1] !== 0;
  }

  /** Sets the value of `nevra`, adding it when it has none. */
  set(nevra: Nevra, value: T): void {
    nevraHash(nevra);
    const high = NEVRA_HASH[0]!;
    const low = NEVRA_HASH[1]!;
    let slot = this.slotOf(high, low);
    if (this.slots[2 * slot] === 0 && this.slots[2 * slot + 1] === 0) {
      if ((this.entries + 1) * 4 > this.slots.length) {
        this.grow();
        slot = this.slotOf(high, low);
      }
      this.slots[2 * slot] = high;
      this.slots[2 * slot + 1] = low;
      this.entries++;
    }
    this.values[slot] = value;
  }

  /** The slot holding the hash, or the free slot where it would go. */
  private slotOf(high: number, low: number): number {
    const slots = this.slots;
    const mask = (slots.length >>> 1) - 1;
    let slot = low & mask;
    for (;;) {
      const h = slots[2 * slot]!;
      const l = slots[2 * slot + 1]!;
      if ((h === high && l === low) || (h === 0 && l === 0)) return slot;
      slot = (slot + 1) & mask;
    }
  }

  /** Doubles the table once it is half full, so probes stay short. */
  private grow(): void {
    const { slots: oldSlots, values: oldValues } = this;
    this.slots = new Uint32Array(oldSlots.length * 2);
    this.values = new Array<T | undefined>(oldValues.length * 2).fill(undefined);
    for (let i = 0; i < oldValues.length; i++) {
      const high = oldSlots[2 * i]!;
      const low = oldSlots[2 * i + 1]!;
      if (high === 0 && low === 0) continue;
      const slot = this.slotOf(high, low);
      this.slots[2 * slot] = high;
      this.slots[2 * slot + 1] = low;
      this.values[slot] = oldValues[i];
    }
  }
}
