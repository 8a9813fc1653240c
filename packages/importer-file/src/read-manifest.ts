import { manifestInvalid, parseManifestLine, type ManifestEntry } from './manifest-entry.js';
import { readManifestLines, type ManifestLinesOptions } from './manifest-lines.js';
import { SeenPaths } from './seen-paths.js';

/**
 * Streams the entries of a PULP_MANIFEST file on disk, in file order, one per distinct path.
 * A path listed twice with the same digest is yielded once; with a different digest it is
 * TRIBUTARY_ERR_MANIFEST_INVALID naming both lines. Any other bad line is a typed error naming
 * the line (see {@link parseManifestLine}); entries before it have already been yielded, so a
 * caller that must not act on a bad manifest relies on the host rolling the sync back.
 *
 * Memory stays flat in the manifest's size apart from {@link SeenPaths} (about 60 bytes a path).
 */
export async function* readManifest(file: string, options: ManifestLinesOptions = {}): AsyncGenerator<ManifestEntry> {
  const source = options.source ?? 'PULP_MANIFEST';
  const seen = new SeenPaths();
  for await (const lines of readManifestLines(file, options)) {
    for (const { line, text } of lines) {
      const entry = parseManifestLine(text, line, source);
      if (!entry) continue;
      const sighting = seen.sight(entry);
      if (sighting === 'repeat') continue;
      if (sighting !== 'new') {
        throw manifestInvalid(
          source,
          line,
          `the path ${JSON.stringify(entry.relativePath)} is listed again with sha256 ${entry.sha256}; line ${sighting.conflictsWithLine} lists it with sha256 ${sighting.sha256}`,
        );
      }
      yield entry;
    }
  }
}
