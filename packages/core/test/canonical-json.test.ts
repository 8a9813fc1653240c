import { canonicalJson } from '../src/store/canonical-json.js';

/** The straightforward definition: copy every object with sorted keys, then stringify. */
function reference(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v === null || typeof v !== 'object') return v;
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return v;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) {
      const field = (v as Record<string, unknown>)[key];
      if (field !== undefined) out[key] = sortKeys(field);
    }
    return out;
  };
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

test('keys are sorted at every level, whatever order they were built in', () => {
  expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
  expect(canonicalJson({ a: [{ c: 3, d: 2 }], b: 1 })).toBe(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }));
});

test('undefined fields are left out wherever they are; undefined array items become null', () => {
  expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  expect(canonicalJson({ b: { z: undefined, y: 1 }, a: 2 })).toBe('{"a":2,"b":{"y":1}}');
  expect(canonicalJson([undefined, { b: 1, a: undefined }])).toBe('[null,{"b":1}]');
  expect(canonicalJson(undefined)).toBe('null');
});

test('values with toJSON serialise through it, and the input is never changed', () => {
  const input = { when: new Date(0), z: { b: 1, a: 2 }, list: [{ y: 1, x: 2 }] };
  const before = JSON.stringify(input);
  expect(canonicalJson(input)).toBe('{"list":[{"x":2,"y":1}],"when":"1970-01-01T00:00:00.000Z","z":{"a":2,"b":1}}');
  expect(JSON.stringify(input)).toBe(before);
});

test('matches the straightforward definition on generated documents', () => {
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const keys = ['a', 'b', 'c', 'name', 'Zeta', 'é', '10', '9', 'a-b'];
  const make = (depth: number): unknown => {
    const pick = random();
    if (depth > 3 || pick < 0.3) return [1, 'x', true, null, undefined, 2.5][Math.floor(random() * 6)];
    if (pick < 0.55) return Array.from({ length: Math.floor(random() * 4) }, () => make(depth + 1));
    const object: Record<string, unknown> = {};
    for (const key of keys) if (random() < 0.5) object[key] = make(depth + 1);
    return object;
  };
  for (let i = 0; i < 2000; i++) {
    const document = make(0);
    expect(canonicalJson(document)).toBe(reference(document));
  }
});
