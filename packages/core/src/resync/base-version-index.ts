import { FINGERPRINT_FIELDS, STORED_FINGERPRINT_FIELDS } from '../store/unit-fingerprint.js';

const FIELDS = STORED_FINGERPRINT_FIELDS;

const EMPTY = 0;
const TAKEN = 1;

/**
 * The stored fingerprints of a repository's base version (unit-id key, two digest halves and the
 * content row per unit, see unit-fingerprint.ts) in an open-addressing hash table of typed arrays:
 * 33 bytes a slot at most half full, so a million-unit repository costs at most ~70 MB while a
 * re-sync runs, about half what a Map of strings would.
 */
export class BaseVersionIndex {
  private slots = 0;
  private mask = 0;
  private used = new Uint8Array(0);
  private entries = new Float64Array(0);
  private count = 0;

  constructor(capacity = 1024) {
    this.allocate(tableSize(capacity));
  }

  get size(): number {
    return this.count;
  }

  /** Adds every fingerprint of a page (a flat list as stores send them). */
  addAll(fingerprints: Float64Array): void {
    for (let at = 0; at + FIELDS <= fingerprints.length; at += FIELDS) {
      if (!Number.isFinite(fingerprints[at]!)) continue;
      if ((this.count + 1) * 2 > this.slots) this.grow();
      this.insert(fingerprints, at);
    }
  }

  /** Whether some unit of the base version has this unit-id key. */
  hasUnit(key: number): boolean {
    if (!Number.isFinite(key)) return false;
    for (let slot = this.slotOf(key); this.used[slot] === TAKEN; slot = (slot + 1) & this.mask) {
      if (this.entries[slot * FIELDS] === key) return true;
    }
    return false;
  }

  /**
   * The content row of the base version's unit whose fingerprint is the one at `fingerprints[at…]`
   * ({@link FINGERPRINT_FIELDS} numbers), or -1 when there is none.
   */
  contentRowOf(fingerprints: Float64Array, at: number): number {
    const key = fingerprints[at]!;
    if (!Number.isFinite(key)) return -1;
    const high = fingerprints[at + 1]!;
    const low = fingerprints[at + 2]!;
    for (let slot = this.slotOf(key); this.used[slot] === TAKEN; slot = (slot + 1) & this.mask) {
      const base = slot * FIELDS;
      if (this.entries[base] === key && this.entries[base + 1] === high && this.entries[base + 2] === low) return this.entries[base + 3]!;
    }
    return -1;
  }

  private insert(from: Float64Array, at: number): void {
    let slot = this.slotOf(from[at]!);
    while (this.used[slot] === TAKEN) slot = (slot + 1) & this.mask;
    this.used[slot] = TAKEN;
    this.entries.set(from.subarray(at, at + FIELDS), slot * FIELDS);
    this.count++;
  }

  /** The key's low bits are the unit id's hex digits 10–13: already uniformly spread. */
  private slotOf(key: number): number {
    return (key % 0x100000000) & this.mask;
  }

  private grow(): void {
    const { used, entries } = this;
    this.allocate(this.slots * 2);
    this.count = 0;
    for (let slot = 0; slot < used.length; slot++) if (used[slot] === TAKEN) this.insert(entries, slot * FIELDS);
  }

  private allocate(slots: number): void {
    this.slots = slots;
    this.mask = slots - 1;
    this.used = new Uint8Array(slots).fill(EMPTY);
    this.entries = new Float64Array(slots * FIELDS);
  }
}

function tableSize(capacity: number): number {
  let slots = 16;
  while (slots < capacity * 2) slots *= 2;
  return slots;
}
