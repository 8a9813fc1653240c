import type { UnitKey } from '@tributary/plugin-api';

/**
 * A text that is equal for two keys of the same unit, whatever order their fields were written in.
 * Stages use it to match what the conduit found back to the content that asked; they have no
 * content type definitions, so they cannot use the canonical key order.
 */
export function unitKeyText(typeId: string, key: UnitKey): string {
  const fields = Object.keys(key).sort();
  return JSON.stringify([typeId, ...fields.map((field) => [field, key[field]])]);
}
