import { isBlankOrComment, parseManifestLine, type ManifestEntry } from './manifest-entry.js';
import { readManifestLines, type ManifestLine } from './manifest-lines.js';
import { scanManifest, type ManifestScanOptions } from './manifest-scan.js';

/**
 * Streams the entries of a PULP_MANIFEST file on disk, in file order, one per distinct path.
 *
 * The whole manifest is validated first ({@link scanManifest}), so a bad line — wrong columns, a
 * bad digest or size, an unsafe path, invalid UTF-8, a path listed again with a different digest —
 * is a typed error naming the line before the first entry is yielded. A path listed again with the
 * same digest is yielded once. Memory stays flat: lines are streamed, and duplicate detection keeps
 * 8 bytes an entry.
 */
export async function* readManifest(file: string, options: ManifestScanOptions = {}): AsyncGenerator<ManifestEntry> {
  for await (const entries of readManifestBatches(file, options)) yield* entries;
}

/**
 * {@link readManifest}'s entries a read chunk at a time (a few thousand), for a caller that would
 * otherwise pay a promise per entry.
 */
export async function* readManifestBatches(file: string, options: ManifestScanOptions = {}): AsyncGenerator<ManifestEntry[]> {
  const source = options.source ?? 'PULP_MANIFEST';
  for await (const lines of readManifestEntryLines(file, options)) {
    const entries: ManifestEntry[] = [];
    for (const { line, text } of lines) {
      const entry = parseManifestLine(text, line, source);
      if (entry) entries.push(entry);
    }
    if (entries.length > 0) yield entries;
  }
}

/**
 * The lines of a validated PULP_MANIFEST that list a file, a read chunk at a time, in file order,
 * without the lines that repeat an earlier line's path and digest: for a caller that looks lines
 * up before it parses them ({@link parseManifestLine} parses each to its entry).
 */
export async function* readManifestEntryLines(file: string, options: ManifestScanOptions = {}): AsyncGenerator<ManifestLine[]> {
  // progress is the reading that emits: the check before it is quick
  const { onRead: _onRead, ...scanOptions } = options;
  const { repeatLines } = await scanManifest(file, scanOptions);
  for await (const lines of readManifestLines(file, options)) {
    const listed = lines.filter(({ line, text }) => !repeatLines.has(line) && !isBlankOrComment(text));
    if (listed.length > 0) yield listed;
  }
}
