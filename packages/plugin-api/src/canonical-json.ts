/**
 * JSON text of a value with object keys sorted at every level, so two equal documents always give
 * the same text whatever order their keys were built in. Stores compare unit metadata by it to
 * tell an `updated` unit from an `unchanged` one, and a plugin that gives metadata as text
 * (`DeclarativeContentInit.metadataJson`) writes the text with it.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }) // '{"a":[{"c":3,"d":2}],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortedKeys(value)) ?? 'null';
}

/**
 * `value` with object keys sorted at every level and undefined fields left out. Copies only what
 * is out of order: metadata built in key order (or read back from canonical JSON) is serialised as
 * it is, which makes this about as cheap as a plain JSON.stringify.
 */
function sortedKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === null || typeof item !== 'object') continue; // the common case: a list of strings
      const sorted = sortedKeys(item);
      if (sorted !== item) (copy ??= value.slice())[i] = sorted;
    }
    return copy ?? value;
  }
  // Dates, Buffers and the like serialise through their own toJSON.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  let inOrder = true;
  for (let i = 1; i < keys.length && inOrder; i++) inOrder = keys[i - 1]! < keys[i]!;
  if (!inOrder) keys.sort();
  let copy: Record<string, unknown> | undefined = inOrder ? undefined : {};
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const field = object[key];
    const sorted = sortedKeys(field);
    if (copy === undefined && (field === undefined || sorted !== field)) {
      // the first change: copy the fields before this one
      copy = {};
      for (let j = 0; j < i; j++) copy[keys[j]!] = object[keys[j]!];
    }
    if (copy !== undefined && field !== undefined) copy[key] = sorted;
  }
  return copy ?? value;
}
