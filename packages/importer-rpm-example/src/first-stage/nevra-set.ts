import type { Nevra } from '../metadata/primary-package.js';

const INITIAL_SLOTS = 1024;

/**
 * A set of NEVRAs that costs 16 to 32 bytes per NEVRA, outside the JavaScript heap: the 64-bit hash
 * of `name-epoch:version-release.arch` in an open-addressing table of two typed arrays. A sync
 * keeps one entry per package of primary.xml, so a Set of strings would be the only part of the
 * importer's memory that grows with the repository (about 100 bytes a package, and heap the
 * garbage collector walks again and again).
 *
 * Two different NEVRAs may share a hash: among a million packages, with odds of about 3 in 10^8.
 * Such a pair would look like a duplicate and the later package would be dropped (and logged). The
 * hash is not cryptographic, so an upstream could craft such a pair; it could as well leave the
 * package out of its metadata, which is all the collision achieves.
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
    if (this.find(hashHigh, hashLow)) return false;
    if ((this.entries + 1) * 4 > this.slots.length) this.grow();
    this.insert(hashHigh, hashLow);
    this.entries++;
    return true;
  }

  /** Whether `nevra` (or a NEVRA with the same hash) was added. */
  has(nevra: Nevra): boolean {
    if (this.entries === 0) return false;
    nevraHash(nevra);
    return this.find(hashHigh, hashLow);
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

// the last hash, as two unsigned 32-bit halves (kept here so that hashing allocates nothing)
let hashHigh = 0;
let hashLow = 0;
let lane1 = 0;
let lane2 = 0;

/**
 * 64-bit hash of the characters of `nevraOf(nevra)`, fed part by part so the string is never built:
 * two 32-bit multiply-xorshift lanes (cyrb53's), both kept. (0, 0) marks a free slot, so a hash
 * of (0, 0) becomes (0, 1).
 */
function nevraHash(nevra: Nevra): void {
  lane1 = 0xdeadbeef;
  lane2 = 0x41c6ce57;
  feed(nevra.name);
  feedChar(45); // -
  feed(nevra.epoch || '0');
  feedChar(58); // :
  feed(nevra.version);
  feedChar(45); // -
  feed(nevra.release);
  feedChar(46); // .
  feed(nevra.arch);
  let h1 = lane1;
  let h2 = lane2;
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  hashHigh = h2 >>> 0;
  hashLow = h1 >>> 0;
  if (hashHigh === 0 && hashLow === 0) hashLow = 1;
}

function feed(text: string): void {
  let h1 = lane1;
  let h2 = lane2;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  lane1 = h1;
  lane2 = h2;
}

function feedChar(c: number): void {
  lane1 = Math.imul(lane1 ^ c, 2654435761);
  lane2 = Math.imul(lane2 ^ c, 1597334677);
}
