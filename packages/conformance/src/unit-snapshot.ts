import type { RepoUnitView } from '@tributary/core';
import type { CountsByType } from '@tributary/plugin-api';

/**
 * The identity of a unit as the kit compares them: its type and key, with key fields in sorted
 * order so that two keys with the same fields and values are one identity whatever their order.
 */
export function unitIdentity(unit: { typeId: string; key: Readonly<Record<string, unknown>> }): string {
  const fields = Object.keys(unit.key).sort();
  return `${unit.typeId} ${JSON.stringify(Object.fromEntries(fields.map((f) => [f, unit.key[f]])))}`;
}

/** A repository's units by identity. */
export type UnitSet = ReadonlyMap<string, RepoUnitView>;

export function unitSet(units: readonly RepoUnitView[]): UnitSet {
  return new Map(units.map((u) => [unitIdentity(u), u]));
}

/** Identities in `a` that are not in `b`. */
export function missingFrom(a: UnitSet, b: UnitSet): string[] {
  return [...a.keys()].filter((id) => !b.has(id));
}

/** Identities in both. */
export function inBoth(a: UnitSet, b: UnitSet): string[] {
  return [...a.keys()].filter((id) => b.has(id));
}

/** Counts identities by content type. */
export function countByType(identities: readonly string[]): CountsByType {
  const counts: CountsByType = {};
  for (const id of identities) {
    const typeId = id.slice(0, id.indexOf(' '));
    counts[typeId] = (counts[typeId] ?? 0) + 1;
  }
  return counts;
}

/** A short list for a message: the first few identities, and how many more. */
export function listUnits(identities: readonly string[], max = 5): string {
  if (identities.length === 0) return '(none)';
  const shown = identities.slice(0, max).join('; ');
  return identities.length > max ? `${shown}; and ${identities.length - max} more` : shown;
}

/** `{ 'notes.note': 2 }` as `2 'notes.note'`, or `0` when empty. */
export function describeCounts(counts: CountsByType): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n !== 0)
    .map(([type, n]) => `${n} '${type}'`);
  return parts.length === 0 ? '0' : parts.join(', ');
}

export function totalOf(counts: CountsByType | undefined): number {
  let total = 0;
  for (const n of Object.values(counts ?? {})) total += n;
  return total;
}

/** Whether two counts by type say the same (types with 0 ignored). */
export function sameCounts(a: CountsByType, b: CountsByType): boolean {
  const types = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...types].every((t) => (a[t] ?? 0) === (b[t] ?? 0));
}

/** Canonical JSON (object keys sorted), so metadata compares by value. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) : v,
  );
}

/** What a unit's files are: sorted `relativePath sha256` pairs ('' when it has none). */
export function artifactSignature(unit: RepoUnitView): string {
  return unit.artifacts
    .map((a) => `${a.relativePath} ${a.sha256 ?? '?'}`)
    .sort()
    .join('\n');
}

/**
 * Differences between two snapshots of the same repository, in words; empty when identical.
 * Units are shared between repositories and versions, so `membershipOnly` compares only which units
 * the repository holds and their origin, not their metadata and files.
 */
export function describeSnapshotDifferences(before: UnitSet, after: UnitSet, options: { membershipOnly?: boolean } = {}): string[] {
  const differences: string[] = [];
  const gone = missingFrom(before, after);
  const came = missingFrom(after, before);
  if (gone.length > 0) differences.push(`units gone: ${listUnits(gone)}`);
  if (came.length > 0) differences.push(`units that appeared: ${listUnits(came)}`);
  const changed = inBoth(before, after).filter((id) => {
    const a = before.get(id) as RepoUnitView;
    const b = after.get(id) as RepoUnitView;
    if (a.origin !== b.origin) return true;
    return !options.membershipOnly && (canonicalJson(a.metadata) !== canonicalJson(b.metadata) || artifactSignature(a) !== artifactSignature(b));
  });
  if (changed.length > 0) differences.push(`units whose ${options.membershipOnly ? 'origin' : 'metadata, files or origin'} changed: ${listUnits(changed)}`);
  return differences;
}
