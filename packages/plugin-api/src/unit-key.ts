import type { ContentTypeDefinition, UnitKey } from './content.js';
import { ErrorCodes, TributaryError } from './errors.js';

/**
 * The canonical text of a unit key: its declared fields in declared order, JSON-encoded. Two keys
 * are the same unit exactly when their canonical texts are equal; hosts hash it into the unit id.
 */
export function canonicalUnitKey(type: ContentTypeDefinition, key: UnitKey): string {
  const keyFields = Object.keys(key);
  const missing = type.keyFields.filter((f) => !(f in key));
  const extra = keyFields.filter((f) => !type.keyFields.includes(f));
  if (missing.length > 0 || extra.length > 0) {
    throw new TributaryError(
      ErrorCodes.UNIT_KEY_INVALID,
      `unit key of type '${type.id}' must have exactly the fields [${type.keyFields.join(', ')}]` +
        (missing.length ? `; missing ${missing.join(', ')}` : '') +
        (extra.length ? `; undeclared ${extra.join(', ')}` : ''),
      { details: { typeId: type.id, missing, extra } },
    );
  }
  const values = type.keyFields.map((field) => {
    const value = key[field];
    if (typeof value === 'string') return value;
    if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
    throw new TributaryError(
      ErrorCodes.UNIT_KEY_INVALID,
      `unit key field '${field}' of type '${type.id}' must be a string or a safe integer, got ${JSON.stringify(value)}`,
      { details: { typeId: type.id, field } },
    );
  });
  return JSON.stringify(values);
}
