/**
 * Whether two metadata values hold the same JSON: objects compare by their keys regardless of key
 * order, and properties whose value is `undefined` count as absent (JSON drops them when stored).
 * ContentSaver uses it to skip writing units whose stored metadata is already what upstream says.
 */
export function sameMetadata(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameMetadata(a[i], b[i])) return false;
    return true;
  }
  const left = definedEntries(a as Record<string, unknown>);
  const right = b as Record<string, unknown>;
  if (left.length !== definedEntries(right).length) return false;
  for (const [key, value] of left) {
    if (!Object.prototype.hasOwnProperty.call(right, key) || !sameMetadata(value, right[key])) return false;
  }
  return true;
}

function definedEntries(value: Record<string, unknown>): [string, unknown][] {
  return Object.entries(value).filter(([, v]) => v !== undefined);
}
