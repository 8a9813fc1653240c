import { hash } from 'node:crypto';
import type { ManifestEntry } from './manifest-entry.js';

/** What a manifest entry is relative to the entries before it. */
export type Sighting = 'new' | 'repeat' | { readonly conflictsWithLine: number; readonly sha256: string };

const DIGEST_BYTES = 32;

/**
 * Remembers every path a manifest listed, in bounded and compact memory, to tell a harmless repeat
 * (same path, same digest) from a conflict (same path, different digest).
 *
 * Paths are not kept: each is reduced to its sha256 (a 32-character binary string, the Map key),
 * and its digest goes, as 32 raw bytes, into one growing buffer: about 100 bytes an entry whatever
 * the path's length. Keeping the path strings would cost as much for short paths and more for long
 * ones, and slices of decoded chunks would keep whole chunks alive. Two distinct paths with the
 * same sha256 are not a practical concern. One-shot `crypto.hash` keeps this at ~1 µs a path.
 */
export class SeenPaths {
  private readonly index = new Map<string, number>();
  private digests = Buffer.alloc(1024 * DIGEST_BYTES);
  private lines = new Uint32Array(1024);

  get size(): number {
    return this.index.size;
  }

  /** Records the entry and says whether its path was seen before, and with which digest. */
  sight(entry: ManifestEntry): Sighting {
    const key = hash('sha256', entry.relativePath, 'binary');
    const slot = this.index.get(key);
    if (slot !== undefined) {
      const previous = this.digests.toString('hex', slot * DIGEST_BYTES, (slot + 1) * DIGEST_BYTES);
      if (previous === entry.sha256) return 'repeat';
      return { conflictsWithLine: this.lines[slot] as number, sha256: previous };
    }
    const next = this.index.size;
    this.ensureCapacity(next + 1);
    this.digests.write(entry.sha256, next * DIGEST_BYTES, DIGEST_BYTES, 'hex');
    this.lines[next] = entry.line;
    this.index.set(key, next);
    return 'new';
  }

  private ensureCapacity(count: number): void {
    if (count <= this.lines.length) return;
    const capacity = this.lines.length * 2;
    const digests = Buffer.alloc(capacity * DIGEST_BYTES);
    this.digests.copy(digests);
    this.digests = digests;
    const lines = new Uint32Array(capacity);
    lines.set(this.lines);
    this.lines = lines;
  }
}
