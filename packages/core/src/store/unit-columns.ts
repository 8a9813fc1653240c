import type { Digests, ExistingUnit, UnitKey } from '@tributary/plugin-api';
import { canonicalJson } from './canonical-json.js';
import type { RemoteArtifactRecord, UnitWrite } from './content-store.js';
import { lowerCaseDigests } from './lower-case-digests.js';
import { FINGERPRINT_FIELDS, writeFingerprint } from './unit-fingerprint.js';

/**
 * A unit as the columns of its `units` row, which is how units travel to the catalog:
 *
 * - `key`: the key as JSON;
 * - `metadata`: canonical JSON (sorted keys), so equal metadata is equal text;
 * - `artifacts`: `[[relativePath, sha256 | null], …]`, sorted by path;
 * - `remotes`: `[[relativePath, remote, urls, size | null, digests], …]`, sorted by path then
 *   remote, or NULL.
 *
 * Encoding is most of the work of writing a new unit, and it needs nothing stored, so the side
 * that has the units does it: with the SQLite catalog on its own thread (SqliteWorkerStore), the
 * pipeline's thread encodes while the catalog thread only compares and writes, and a flat array of
 * strings crosses between threads far cheaper than the unit objects would.
 */

/** `[relativePath, sha256 | null]` as stored in `units.artifacts`. */
export type StoredUnitArtifact = [string, string | null];
/** `[relativePath, remote, urls, size, digests]` as stored in `units.remotes`. */
export type StoredRemote = [string, string, readonly string[], number | null, Digests];

/** Columns per unit in an encoded batch: unit id, type id, key, metadata, artifacts, remotes. */
export const UNIT_COLUMNS = 6;

/**
 * `units` as a flat list of {@link UNIT_COLUMNS} strings per unit; no remotes is `''`. Each unit's
 * artifacts and remotes are listed as given: a path (or path and remote) given twice keeps its
 * last entry, as successive upserts would.
 */
export function encodeUnits(units: readonly UnitWrite[]): string[] {
  const columns: string[] = new Array<string>(units.length * UNIT_COLUMNS);
  let at = 0;
  for (const unit of units) {
    columns[at++] = unit.unitId;
    columns[at++] = unit.typeId;
    columns[at++] = JSON.stringify(unit.key);
    columns[at++] = metadataColumn(unit);
    columns[at++] = artifactsColumn(unit);
    columns[at++] = unitRemotesColumn(unit);
  }
  return columns;
}

/** The `metadata` column: the plugin's canonical text as given, or the object's canonical JSON. */
function metadataColumn(unit: UnitWrite): string {
  return unit.metadataJson ?? canonicalJson(unit.metadata ?? {});
}

/** The `remotes` column of a unit's write; `''` when it gives none. */
function unitRemotesColumn(unit: UnitWrite): string {
  return unit.remotes?.length ? remotesColumn(unit.remotes) : '';
}

/**
 * The fingerprints (unit-fingerprint.ts) of the rows writing each of `units` into an empty catalog
 * would store: what {@link storedFingerprintColumns} give for a stored unit that needs no write.
 */
export function fingerprintUnits(units: readonly UnitWrite[]): Float64Array {
  const out = new Float64Array(units.length * FINGERPRINT_FIELDS);
  units.forEach((unit, u) => {
    // the columns of encodeUnits that a fingerprint covers (the key is in the unit id)
    writeFingerprint(out, u * FINGERPRINT_FIELDS, unit.unitId, [metadataColumn(unit), artifactsColumn(unit), unitRemotesColumn(unit)]);
  });
  return out;
}

/**
 * The fingerprint columns of a stored row as seen by `remote`: its metadata, its files, and the
 * sources of `remote` only ('' when it has none), in the text {@link encodeUnits} gives them.
 */
export function storedFingerprintColumns(metadata: string, artifacts: string, remotes: string | null, remote: string): string[] {
  return [metadata, artifacts, remotesOf(remotes, remote)];
}

function remotesOf(stored: string | null, remote: string): string {
  if (stored === null) return '';
  // one entry: compared as it is (an entry of another remote simply does not match)
  if (!stored.includes('}],[')) return stored;
  const mine = (JSON.parse(stored) as StoredRemote[]).filter((entry) => entry[1] === remote);
  return mine.length > 0 ? JSON.stringify(mine) : '';
}

function artifactsColumn(unit: UnitWrite): string {
  const given = unit.artifacts ?? [];
  if (given.length === 0) return '[]';
  if (given.length === 1) return JSON.stringify([[given[0]!.relativePath, given[0]!.sha256?.toLowerCase() ?? null]]);
  const byPath = new Map<string, string | null>();
  // a later entry for a path wins, but never erases a known sha256 with null
  for (const a of given) byPath.set(a.relativePath, a.sha256?.toLowerCase() ?? byPath.get(a.relativePath) ?? null);
  return JSON.stringify([...byPath].sort((a, b) => compareText(a[0], b[0])));
}

/**
 * The `artifacts` column text of a unit whose files are these entries (one per path, sorted by
 * path, lower-case sha256): how a store that keeps files otherwise (MongoDB) fingerprints them.
 */
export function artifactsText(entries: readonly { readonly relativePath: string; readonly sha256: string | null }[]): string {
  return JSON.stringify(entries.map((entry) => [entry.relativePath, entry.sha256]));
}

/** The `remotes` column of exactly `given` (deduplicated and sorted). */
export function remotesColumn(given: readonly Omit<RemoteArtifactRecord, 'unitId'>[]): string {
  return JSON.stringify(sortRemotes(dedupeRemotes(given.map(storedRemote))));
}

/**
 * The unit's artifact column after writing `givenJson` over `storedJson`: paths not given are
 * kept, a null sha256 never erases a known one. Returns `storedJson` itself when nothing changed.
 */
export function mergeArtifactsColumn(storedJson: string | undefined, givenJson: string): string {
  if (storedJson === undefined || storedJson === '[]') return givenJson;
  if (givenJson === '[]' || givenJson === storedJson) return storedJson;
  const list = JSON.parse(storedJson) as StoredUnitArtifact[];
  let changed = false;
  for (const [relativePath, sha256] of JSON.parse(givenJson) as StoredUnitArtifact[]) {
    const current = list.find((entry) => entry[0] === relativePath);
    if (current === undefined) {
      list.push([relativePath, sha256]);
      changed = true;
    } else if (sha256 !== null && current[1] !== sha256) {
      current[1] = sha256;
      changed = true;
    }
  }
  if (!changed) return storedJson;
  list.sort((a, b) => compareText(a[0], b[0]));
  return JSON.stringify(list);
}

/**
 * A unit's remotes column after upserting the entries of `givenJson` (by path and remote) into
 * `storedJson`. Returns `storedJson` itself when nothing changed; the common cases (nothing stored
 * yet, or exactly the given entries stored) need no parsing.
 */
export function mergeRemotesColumn(storedJson: string | null, givenJson: string): string {
  if (storedJson === null || storedJson === givenJson) return givenJson;
  const list = JSON.parse(storedJson) as StoredRemote[];
  for (const entry of JSON.parse(givenJson) as StoredRemote[]) {
    const at = list.findIndex((e) => e[0] === entry[0] && e[1] === entry[1]);
    if (at >= 0) list[at] = entry;
    else list.push(entry);
  }
  const json = JSON.stringify(sortRemotes(list));
  return json === storedJson ? storedJson : json;
}

function storedRemote(remote: Omit<RemoteArtifactRecord, 'unitId'>): StoredRemote {
  // only ever stringified: the urls need no copy
  return [remote.relativePath, remote.remote, remote.urls, remote.size ?? null, lowerCaseDigests(remote.digests ?? {})];
}

function sortRemotes(list: StoredRemote[]): StoredRemote[] {
  if (list.length > 1) list.sort((a, b) => compareText(a[0], b[0]) || compareText(a[1], b[1]));
  return list;
}

/** The last entry per (path, remote) wins, as successive upserts would. */
function dedupeRemotes(entries: StoredRemote[]): StoredRemote[] {
  if (entries.length < 2) return entries;
  const byKey = new Map<string, StoredRemote>();
  for (const entry of entries) byKey.set(`${entry[0]}\u0000${entry[1]}`, entry);
  return [...byKey.values()];
}

/** One found unit as {@link findUnitsJson} sends it: its row's columns, parsed. */
type FoundUnitColumns = [string, string, UnitKey, Record<string, unknown>, StoredUnitArtifact[], StoredRemote[] | null];

/** The units of a {@link findUnitsJson} answer, as the port's `ExistingUnit`s. */
export function decodeFoundUnits(json: string): ExistingUnit[] {
  const rows = JSON.parse(json) as FoundUnitColumns[];
  const units: ExistingUnit[] = new Array<ExistingUnit>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const [unitId, typeId, key, metadata, artifacts, remotes] = rows[i]!;
    units[i] = {
      unitId,
      typeId,
      key,
      metadata,
      artifacts: artifacts.map(([relativePath, sha256]) => ({ relativePath, sha256 })),
      remotes: (remotes ?? []).map(([relativePath, remote, urls, size, digests]) => ({ relativePath, remote, urls, size, digests })),
    };
  }
  return units;
}

/** A stable order for relative paths (UTF-16 code units; the paths are compared, never collated). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
