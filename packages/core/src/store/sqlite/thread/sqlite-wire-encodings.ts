import type { AssociateRow } from '../../content-store.js';
import type { SourceDigest } from '../../unit-fingerprint.js';

/**
 * How calls' arguments cross to the catalog thread when objects would cost more than the work:
 * structured-clone decoding of thousands of small objects is slow, flat lists of strings and
 * numbers are next to free. (Units cross as their row's columns, `encodeUnits` in unit-columns.ts,
 * and found units come back as JSON text, `decodeFoundUnits`.)
 */

/** Source digests packed three numbers each, NaN for none (how they cross to the catalog thread). */
export function packSources(sources: readonly (SourceDigest | undefined)[]): Float64Array {
  const packed = new Float64Array(sources.length * 3).fill(Number.NaN);
  sources.forEach((source, i) => {
    if (source !== undefined) packed.set(source, i * 3);
  });
  return packed;
}

export function unpackSources(packed: Float64Array): (SourceDigest | undefined)[] {
  const sources: (SourceDigest | undefined)[] = [];
  for (let at = 0; at < packed.length; at += 3) {
    sources.push(Number.isNaN(packed[at]!) ? undefined : [packed[at]!, packed[at + 1]!, packed[at + 2]!]);
  }
  return sources;
}

/** The sources of rows packed by {@link packSources}, or undefined when no row has one. */
export function packSourcesOf(rows: readonly { readonly source?: SourceDigest }[]): Float64Array | undefined {
  return rows.some((row) => row.source !== undefined) ? packSources(rows.map((row) => row.source)) : undefined;
}

/** Associate rows as (unit id, type id) pairs in one flat list (the key is for stores that look units up by it; this one has the unit's row). */
export function associatePairs(units: readonly AssociateRow[]): string[] {
  const pairs: string[] = new Array<string>(units.length * 2);
  units.forEach(({ unitId, typeId }, i) => {
    pairs[2 * i] = unitId;
    pairs[2 * i + 1] = typeId;
  });
  return pairs;
}

/** The rows {@link associatePairs} and {@link packSourcesOf} encoded. */
export function associateRows(pairs: readonly string[], packed: Float64Array | undefined): AssociateRow[] {
  const sources = packed === undefined ? undefined : unpackSources(packed);
  const rows: AssociateRow[] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const source = sources?.[i / 2];
    rows.push(source === undefined ? { unitId: pairs[i]!, typeId: pairs[i + 1]! } : { unitId: pairs[i]!, typeId: pairs[i + 1]!, source });
  }
  return rows;
}
