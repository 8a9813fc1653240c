import { hash } from 'node:crypto';

/**
 * Fingerprints of units as a store holds them, for re-syncs: a re-sync skips content whose
 * fingerprint, computed as if the content were written on its own, equals the stored unit's in the
 * repository's base version (see ResyncService.findUnchanged). Fingerprints travel as flat lists of
 * numbers, {@link FINGERPRINT_FIELDS} per unit:
 *
 * - the unit id's first 52 bits, which tells cheaply whether a unit is in the base version at all;
 * - two 52-bit halves of a sha256 over the unit id and the texts of its stored columns (metadata,
 *   files, this remote's sources), so equal fingerprints mean equal rows (a false match needs a
 *   104-bit collision).
 *
 * Each number is an integer below 2^52, exact in a double. A store's pages of stored fingerprints
 * add a fourth number per unit ({@link STORED_FINGERPRINT_FIELDS}): the store's own id of the
 * unit's content row, by which `markSeen` marks it.
 */
export const FINGERPRINT_FIELDS = 3;
export const STORED_FINGERPRINT_FIELDS = 4;

/**
 * The first 52 bits of a (hex) unit id. Ids that are not hex give NaN or a number that only a
 * digest over the whole id can confirm, so such a unit never wrongly matches.
 */
export function unitIdKey(unitId: string): number {
  return parseInt(unitId.slice(0, 13), 16);
}

/**
 * A content source digest (see ProvenanceStore.repoUnitSources): the first 144 bits of a sha256 as
 * three 48-bit integers, exact in doubles and in SQLite integers, laid out like a fingerprint so
 * that a table of them answers like one of fingerprints.
 */
export type SourceDigest = readonly [number, number, number];

/**
 * The {@link SourceDigest} of a sha256 given as a latin1 string (one character a byte): the
 * cheapest form `crypto.hash` returns, about a third of the cost of a Buffer.
 */
export function sourceDigestOf(sha256Latin1: string): SourceDigest {
  return [uint48(sha256Latin1, 0), uint48(sha256Latin1, 6), uint48(sha256Latin1, 12)];
}

function uint48(bytes: string, at: number): number {
  let value = 0;
  for (let i = at; i < at + 6; i++) value = value * 256 + bytes.charCodeAt(i);
  return value;
}

/** Writes the fingerprint of a unit whose stored columns are these texts at `out[at…at+2]`. */
export function writeFingerprint(out: Float64Array, at: number, unitId: string, columns: readonly string[]): void {
  const digest = hash('sha256', `${unitId}\u0000${columns.join('\u0000')}`, 'hex');
  out[at] = unitIdKey(unitId);
  out[at + 1] = parseInt(digest.slice(0, 13), 16);
  out[at + 2] = parseInt(digest.slice(13, 26), 16);
}
