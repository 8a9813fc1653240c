import { hash } from 'node:crypto';
import type { DigestAlgorithm, Digests } from '@tributary/plugin-api';

/**
 * sha256 plus each algorithm `expected` names, of a body already whole in memory: one call per
 * algorithm and no hash object to create and later collect, which a sync of thousands of small
 * files otherwise pays for in garbage collection. Imports nothing but `node:crypto`, so the
 * storage's writer thread can load it.
 */
export function digestsOf(body: Uint8Array, expected?: Digests): Digests & { sha256: string } {
  const result: Digests & { sha256: string } = { sha256: hash('sha256', body, 'hex') };
  if (expected === undefined) return result;
  for (const algorithm in expected) {
    if (algorithm !== 'sha256' && expected[algorithm as DigestAlgorithm] !== undefined) {
      result[algorithm as DigestAlgorithm] = hash(algorithm, body, 'hex');
    }
  }
  return result;
}

/** True when every digest `expected` names equals the one computed. */
export function digestsMatch(expected: Digests, actual: Digests): boolean {
  for (const algorithm in expected) {
    const want = expected[algorithm as DigestAlgorithm];
    if (want !== undefined && actual[algorithm as DigestAlgorithm] !== want) return false;
  }
  return true;
}
