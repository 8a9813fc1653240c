import type { Nevra } from '../metadata/primary-package.js';

/** Where {@link nevraHash} leaves its result: [high half, low half]. A hash allocates nothing. */
export const NEVRA_HASH = new Uint32Array(2);

let lane1 = 0;
let lane2 = 0;

/**
 * 64-bit hash of the characters of `nevraOf(nevra)`, fed part by part so the string is never built:
 * two 32-bit multiply-xorshift lanes (cyrb53's), both kept, into {@link NEVRA_HASH}. (0, 0) marks
 * a free slot in the tables that use it, so a hash of (0, 0) becomes (0, 1).
 *
 * Two different NEVRAs may share a hash: among a million, with odds of about 3 in 10^8. The hash is
 * not cryptographic, so an upstream could craft such a pair; it could as well write whatever it
 * likes in its metadata, which is all a collision achieves.
 */
export function nevraHash(nevra: Nevra): void {
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
  NEVRA_HASH[0] = h2 >>> 0;
  NEVRA_HASH[1] = h1 >>> 0 || (h2 >>> 0 === 0 ? 1 : 0);
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
