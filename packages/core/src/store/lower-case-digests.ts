import type { DigestAlgorithm, Digests } from '@tributary/plugin-api';

/** Digests as stores keep and compare them: lower-case hex, undefined entries dropped. */
export function lowerCaseDigests(digests: Digests): Digests {
  const lower: Digests = {};
  for (const [algorithm, value] of Object.entries(digests) as [DigestAlgorithm, string | undefined][]) {
    if (typeof value === 'string') lower[algorithm] = value.toLowerCase();
  }
  return lower;
}
