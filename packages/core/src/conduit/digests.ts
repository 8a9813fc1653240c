import { DIGEST_HEX_LENGTH, ErrorCodes, TributaryError, type DigestAlgorithm, type Digests } from '@tributary/plugin-api';

/** Checks that every declared digest names a known algorithm and is hex of the right length. */
export function validateDigests(digests: Digests, where: string): void {
  for (const [algorithm, value] of Object.entries(digests)) {
    if (value === undefined) continue;
    const length = DIGEST_HEX_LENGTH[algorithm as DigestAlgorithm];
    if (length === undefined) {
      throw new TributaryError(ErrorCodes.DIGEST_INVALID, `${where}: unknown digest algorithm '${algorithm}'`);
    }
    if (typeof value !== 'string' || value.length !== length || !/^[0-9a-fA-F]+$/.test(value)) {
      throw new TributaryError(ErrorCodes.DIGEST_INVALID, `${where}: ${algorithm} digest ${JSON.stringify(String(value).slice(0, 140))} is not ${length} hex characters`);
    }
  }
}
