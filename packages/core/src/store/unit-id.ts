import { hash } from 'node:crypto';

/**
 * The deterministic id of a unit: a hash of its type and canonical key (see plugin-api
 * `canonicalUnitKey`). Every host computes the same id for the same unit, so upserts are idempotent
 * and two hosts writing the same unit into one MongoDB never conflict.
 */
export function unitIdFor(typeId: string, canonicalKey: string): string {
  return hash('sha256', `${typeId}\u0000${canonicalKey}`, 'hex').slice(0, 40);
}
