import type { ContentTypeDefinition, UnitKey } from './content.js';
import { ErrorCodes, TributaryError } from './errors.js';

/**
 * The canonical text of a unit key: its declared fields in declared order, JSON-encoded. Two keys
 * are the same unit exactly when their canonical texts are equal; hosts hash it into the unit id.
 */
export function canonicalUnitKey(type: ContentTypeDefinition, key: UnitKey): string {
  // the common case, checked without building lists: exactly the declared fields, all valid
  let text = '[';
  let present = 0;
  for (const field of type.keyFields) {
    const value = key[field];
    if (value === undefined && !(field in key)) return refuseKey(type, key);
    present++;
    if (typeof value === 'string') text += (present > 1 ? ',' : '') + JSON.stringify(value);
    else if (typeof value === 'number' && Number.isSafeInteger(value)) text += (present > 1 ? ',' : '') + String(value);
    else {
      throw new TributaryError(
        ErrorCodes.UNIT_KEY_INVALID,
        `unit key field '${field}' of type '${type.id}' must be a string or a safe integer, got ${JSON.stringify(value)}`,
        { details: { typeId: type.id, field } },
      );
    }
  }
  if (Object.keys(key).length !== present) return refuseKey(type, key);
  return text + ']';
}

function refuseKey(type: ContentTypeDefinition, key: UnitKey): never {
  const keyFields = Object.keys(key);
  const missing = type.keyFields.filter((f) => !(f in key));
  const extra = keyFields.filter((f) => !type.keyFields.includes(f));
  throw new TributaryError(
    ErrorCodes.UNIT_KEY_INVALID,
    `unit key of type '${type.id}' must have exactly the fields [${type.keyFields.join(', ')}]` +
      (missing.length ? `; missing ${missing.join(', ')}` : '') +
      (extra.length ? `; undeclared ${extra.join(', ')}` : ''),
    { details: { typeId: type.id, missing, extra } },
  );
}
