import { ErrorCodes, TributaryError } from '@tributary/plugin-api';

/** One note of the index. */
export interface IndexedNote {
  readonly name: string;
  readonly title: string;
  /** Path of the note's file, relative to the index. */
  readonly file: string;
  readonly sha256: string;
  readonly size: number;
}

/**
 * Parses a notes.json index: `{ "notes": [{ name, title, file, sha256, size }, …] }`. Anything else
 * is a typed error naming the index and the offending entry, so a user knows what to fix upstream.
 */
export function parseNotesIndex(text: string, source: string): IndexedNote[] {
  const invalid = (problem: string): never => {
    throw new TributaryError(ErrorCodes.MANIFEST_INVALID, `${source}: ${problem}`, { details: { index: source } });
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return invalid(`not valid JSON (${(error as Error).message})`);
  }
  const notes = (parsed as { notes?: unknown })?.notes;
  if (!Array.isArray(notes)) return invalid('expected an object with a "notes" array');
  const seen = new Set<string>();
  return notes.map((note: Record<string, unknown>, i) => {
    const where = `notes[${i}]`;
    const { name, title, file, sha256, size } = note ?? {};
    if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(name)) invalid(`${where}.name must be a lower-case word, got ${JSON.stringify(name)}`);
    if (seen.has(name as string)) invalid(`${where}.name '${name}' is listed twice`);
    seen.add(name as string);
    if (typeof title !== 'string') invalid(`${where}.title must be a string`);
    if (typeof file !== 'string' || file.startsWith('/') || file.split('/').includes('..')) invalid(`${where}.file must be a relative path inside the repository`);
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) invalid(`${where}.sha256 must be 64 lower-case hex digits`);
    if (!Number.isSafeInteger(size) || (size as number) < 0) invalid(`${where}.size must be a non-negative integer`);
    return { name, title, file, sha256, size } as IndexedNote;
  });
}
