import { ErrorCodes, TributaryError } from '@tributary/plugin-api';

/**
 * A repository's `retainVersions` as stores keep it: a positive integer, or null (keep every
 * version); anything else is TRIBUTARY_ERR_INVALID_ARGUMENT.
 */
export function validRetention(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `retainVersions must be a positive integer (or null to keep every version), got ${JSON.stringify(value)}`, {
      details: { retainVersions: value },
    });
  }
  return value;
}
