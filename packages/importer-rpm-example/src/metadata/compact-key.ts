import { hash } from 'node:crypto';

/**
 * A short, flat string standing for `text`, for sets and maps that live as long as a sync.
 *
 * Why not `text` itself: V8 keeps substrings as views of the string they were cut from, so a
 * NEVRA assembled from parser slices would keep a whole decompressed chunk of primary.xml alive;
 * a set of them would pin the entire document. 128 bits of SHA-256: no accidental collisions, and
 * none an upstream could craft.
 */
export function compactKey(text: string): string {
  return hash('sha256', text, 'base64').slice(0, 22);
}
