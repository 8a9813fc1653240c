import { createHash } from 'node:crypto';
import { BaseVersionIndex } from '../src/resync/base-version-index.js';
import { FINGERPRINT_FIELDS, STORED_FINGERPRINT_FIELDS, unitIdKey } from '../src/store/unit-fingerprint.js';

/** The table a re-sync keeps the base version's unit fingerprints in (what the stores give: test/store-conformance). */

const hex = (text: string) => createHash('sha256').update(text).digest('hex');
const idOf = (name: string) => hex(name).slice(0, 40);

describe('BaseVersionIndex', () => {
  /** A page of stored fingerprints for `count` made-up units; unit i's content row is 1000 + i. */
  function page(count: number, salt = ''): Float64Array {
    const out = new Float64Array(count * STORED_FINGERPRINT_FIELDS);
    for (let i = 0; i < count; i++) {
      const at = i * STORED_FINGERPRINT_FIELDS;
      out[at] = unitIdKey(idOf(`unit ${i}`));
      out[at + 1] = parseInt(hex(`high ${i}${salt}`).slice(0, 13), 16);
      out[at + 2] = parseInt(hex(`low ${i}${salt}`).slice(0, 13), 16);
      out[at + 3] = 1000 + i;
    }
    return out;
  }
  /** The computed (three-number) fingerprint of unit i of a page. */
  const probe = (from: Float64Array, i: number) => from.slice(i * STORED_FINGERPRINT_FIELDS, i * STORED_FINGERPRINT_FIELDS + FINGERPRINT_FIELDS);

  it('finds every unit it was given across growth, by id and by whole fingerprint, and nothing else', () => {
    const index = new BaseVersionIndex(4);
    const stored = page(5000);
    index.addAll(stored.subarray(0, 2000 * STORED_FINGERPRINT_FIELDS));
    index.addAll(stored.subarray(2000 * STORED_FINGERPRINT_FIELDS));
    expect(index.size).toBe(5000);
    const other = page(5000, ' changed');
    for (let i = 0; i < 5000; i += 7) {
      expect(index.hasUnit(stored[i * STORED_FINGERPRINT_FIELDS]!)).toBe(true);
      expect(index.contentRowOf(probe(stored, i), 0)).toBe(1000 + i);
      // same unit id, other digest: the unit is there, but not unchanged
      expect(index.contentRowOf(probe(other, i), 0)).toBe(-1);
    }
    expect(index.hasUnit(unitIdKey(idOf('never stored')))).toBe(false);
  });

  it('keeps two units whose ids share a key apart, and ignores ids that are not hex', () => {
    const index = new BaseVersionIndex();
    const twins = new Float64Array([7, 1, 2, 10, 7, 3, 4, 11, Number.NaN, 5, 6, 12]);
    index.addAll(twins);
    expect(index.size).toBe(2);
    expect(index.contentRowOf(new Float64Array([7, 1, 2]), 0)).toBe(10);
    expect(index.contentRowOf(new Float64Array([7, 3, 4]), 0)).toBe(11);
    expect(index.contentRowOf(new Float64Array([7, 1, 4]), 0)).toBe(-1);
    expect(index.contentRowOf(new Float64Array([Number.NaN, 5, 6]), 0)).toBe(-1);
    expect(index.hasUnit(Number.NaN)).toBe(false);
    expect(unitIdKey('not-a-hex-unit-id')).toBeNaN();
  });
});
