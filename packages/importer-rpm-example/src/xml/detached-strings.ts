/**
 * V8 keeps a substring of 13 characters or more as a view into the string it was cut from. A
 * package whose fields are cut from a decompressed chunk of primary.xml keeps that whole chunk
 * alive for as long as the package is in the pipeline: the XML of every package in flight, file
 * lists and all, twice the size of what the importer keeps of it.
 */
const SHORTEST_VIEW = 13;

/**
 * Replaces, in place, each string of `values` that may be such a view by a slice of one fresh
 * string joining them all: one allocation per call, and the values then hold only their own
 * characters. Shorter strings are copies already and stay as they are.
 */
export function detachStrings(values: string[]): void {
  // a one-element join may return the element itself; there is nothing to gain from one value anyway
  if (values.length < 2) return;
  const joined = values.join('');
  let offset = 0;
  for (let i = 0; i < values.length; i++) {
    const length = values[i]!.length;
    if (length >= SHORTEST_VIEW) values[i] = joined.slice(offset, offset + length);
    offset += length;
  }
}

/** `value` holding only its own characters (a short string is one already). */
export function detachedCopy(value: string): string {
  return value.length < SHORTEST_VIEW ? value : ` ${value}`.slice(1);
}
