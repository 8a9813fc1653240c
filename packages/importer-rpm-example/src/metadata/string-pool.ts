import { detachedCopy } from '../xml/detached-strings.js';

/**
 * One string per distinct value of a field that repeats across packages: arch, epoch, packager,
 * vendor, license, group, build host, required capabilities (`libc.so.6()(64bit)`, `/bin/sh`). Each package
 * in the pipeline then points at the pooled string instead of holding its own copy.
 *
 * Bounded: past `maxEntries` distinct values, the pool starts over (a repository whose values do not
 * repeat costs a lookup per value, nothing more).
 */
export class StringPool {
  private readonly strings = new Map<string, string>();

  constructor(
    private readonly maxEntries = 8192,
    /** Longer values are rarely shared, and would make each lookup cost more. */
    private readonly maxLength = 200,
  ) {}

  /** The pooled string equal to `value` (a copy holding only its own characters when new). */
  intern(value: string): string {
    if (value.length > this.maxLength) return detachedCopy(value);
    const pooled = this.strings.get(value);
    if (pooled !== undefined) return pooled;
    if (this.strings.size >= this.maxEntries) this.strings.clear();
    const own = detachedCopy(value);
    this.strings.set(own, own);
    return own;
  }
}
