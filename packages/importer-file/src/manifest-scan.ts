import { manifestInvalid, parseManifestLine } from './manifest-entry.js';
import { readManifestLines, type ManifestLinesOptions } from './manifest-lines.js';
import { pathHash as defaultPathHash } from './path-hash.js';

export interface ManifestScanOptions extends ManifestLinesOptions {
  /** @internal Tests pass a colliding hash to exercise the exact comparison. */
  readonly pathHash?: (path: string) => number;
}

/** What a full pass over a manifest found, before anything is emitted. */
export interface ManifestScan {
  /** Distinct files the manifest lists. */
  readonly files: number;
  /** Lines that repeat an earlier line's path and digest exactly: to be skipped. */
  readonly repeatLines: ReadonlySet<number>;
}

/**
 * Validates a whole PULP_MANIFEST on disk before any of it is used: every line parses (else the
 * line's typed error), and no path is listed twice with different digests.
 *
 * Duplicate detection in bounded memory, exact: the first pass keeps only a 53-bit hash per entry
 * (8 bytes each in a Float64Array: 1.6 MB for 200,000 entries, against tens of MB for a Set of
 * path strings). Sorting a copy finds the hashes that occur more than once; only when there are
 * any does a second pass compare those few entries by their actual path and digest.
 */
export async function scanManifest(file: string, options: ManifestScanOptions = {}): Promise<ManifestScan> {
  const source = options.source ?? 'PULP_MANIFEST';
  const hashOf = options.pathHash ?? defaultPathHash;
  let hashes = new Float64Array(4096);
  let entries = 0;
  for await (const lines of readManifestLines(file, options)) {
    for (const { line, text } of lines) {
      const entry = parseManifestLine(text, line, source);
      if (!entry) continue;
      if (entries === hashes.length) {
        const grown = new Float64Array(hashes.length * 2);
        grown.set(hashes);
        hashes = grown;
      }
      hashes[entries++] = hashOf(entry.relativePath);
    }
  }
  const recorded = hashes.subarray(0, entries);
  const shared = sharedHashes(recorded);
  if (shared.size === 0) return { files: entries, repeatLines: new Set() };

  // Second pass, only over entries whose hash is shared: exact comparison by path.
  const firstSeen = new Map<string, { sha256: string; line: number }>();
  const repeatLines = new Set<number>();
  for await (const lines of readManifestLines(file, options)) {
    for (const { line, text } of lines) {
      const entry = parseManifestLine(text, line, source);
      if (!entry || !shared.has(hashOf(entry.relativePath))) continue;
      const earlier = firstSeen.get(entry.relativePath);
      if (!earlier) {
        firstSeen.set(entry.relativePath, { sha256: entry.sha256, line });
      } else if (earlier.sha256 === entry.sha256) {
        repeatLines.add(line);
      } else {
        throw manifestInvalid(
          source,
          line,
          `the path ${JSON.stringify(entry.relativePath)} is listed again with sha256 ${entry.sha256}; line ${earlier.line} lists it with sha256 ${earlier.sha256}`,
        );
      }
    }
  }
  return { files: entries - repeatLines.size, repeatLines };
}

/** Hash values that occur more than once. */
function sharedHashes(hashes: Float64Array): Set<number> {
  const sorted = Float64Array.from(hashes).sort();
  const shared = new Set<number>();
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) shared.add(sorted[i] as number);
  }
  return shared;
}
