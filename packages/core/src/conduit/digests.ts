import { DIGEST_HEX_LENGTH, ErrorCodes, TributaryError, type DigestAlgorithm, type Digests } from '@tributary/plugin-api';

/** A regular expression: Irregexp matches this faster than a char-code loop in JS does. */
const HEX = /^[0-9a-fA-F]+$/;

/** Checks that every declared digest names a known algorithm and is hex of the right length. */
export function validateDigests(digests: Digests, where: string): void {
  for (const algorithm of Object.keys(digests) as DigestAlgorithm[]) checkedDigest(digests, algorithm, where);
}

/**
 * The digests checked as {@link validateDigests} does, lower-cased, undefined entries dropped: what
 * stores keep and compare. One pass, for a conduit call that would otherwise check and then copy.
 */
export function validLowerCaseDigests(digests: Digests, where: string): Digests {
  const lower: Digests = {};
  for (const algorithm of Object.keys(digests) as DigestAlgorithm[]) {
    const value = checkedDigest(digests, algorithm, where);
    if (value !== undefined) lower[algorithm] = value.toLowerCase();
  }
  return lower;
}

function checkedDigest(digests: Digests, algorithm: DigestAlgorithm, where: string): string | undefined {
  const value = digests[algorithm];
  if (value === undefined) return undefined;
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) {
    throw new TributaryError(ErrorCodes.DIGEST_INVALID, `${where}: unknown digest algorithm '${algorithm}'`);
  }
  if (typeof value !== 'string' || value.length !== length || !HEX.test(value)) {
    throw new TributaryError(ErrorCodes.DIGEST_INVALID, `${where}: ${algorithm} digest ${JSON.stringify(String(value).slice(0, 140))} is not ${length} hex characters`);
  }
  return value;
}
