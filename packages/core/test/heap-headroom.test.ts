import { limitHeapHeadroom } from '../src/host/heap-headroom.js';

test('limitHeapHeadroom refuses a growing percent that is not a positive integer', () => {
  for (const bad of [0, -5, 1.5, Number.NaN]) expect(() => limitHeapHeadroom(bad)).toThrow(RangeError);
});
