import type { UnitKey } from '@tributary/plugin-api';

/**
 * A text that is equal for two keys of the same unit, whatever order their fields were written in.
 * Stages use it to match what the conduit found back to the content that asked; they have no
 * content type definitions, so they cannot use the canonical key order. Values are JSON-encoded,
 * so `1` and `"1"` differ and no value can forge a separator. It runs for every unit of a sync.
 */
export function unitKeyText(typeId: string, key: UnitKey): string {
  const fields = Object.keys(key);
  if (fields.length > 1) fields.sort();
  let text = JSON.stringify(typeId);
  for (const field of fields) text += `\u0000${field}\u0000${JSON.stringify(key[field])}`;
  return text;
}
