import { ErrorCodes, TributaryError } from '@tributary/plugin-api';

/** What both stores throw when asked to associate units the catalog does not hold. */
export function unknownUnitsError(missing: readonly string[]): TributaryError {
  return new TributaryError(
    ErrorCodes.INVALID_ARGUMENT,
    `cannot associate ${missing.length} unit(s) the catalog does not hold (first: ${missing[0]}); store units before associating them`,
    { details: { unitIds: missing.slice(0, 10) } },
  );
}
