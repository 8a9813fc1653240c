import type { MetadataFile } from '../metadata/metadata-file.js';
import { readPackageNevrasInThread, type MetadataThreadOptions } from '../metadata/metadata-thread-reader.js';
import type { NameArchFilter } from './name-arch-filter.js';
import { NewestVersions, type RetainedVersions } from './newest-versions.js';

/** What the first reading of primary found. */
export interface NewestVersionsReading {
  readonly retained: RetainedVersions;
  /** Packages primary lists. */
  readonly packages: number;
  /** Distinct name.arch the filter keeps. */
  readonly keys: number;
  readonly milliseconds: number;
}

/**
 * The first reading of primary for `retainPackageVersions`: which versions of each name.arch the
 * second reading keeps. Only NEVRAs cross from the parsing thread (see readPackageNevrasInThread),
 * and all that stays is bounded by distinct name.arch × `count` (see {@link NewestVersions}), so
 * memory does not grow with the number of packages. A broken primary fails here, before any
 * package is emitted; what it has wrong but harmless is left to the second reading to report
 * (give no `onWarning`).
 */
export async function readNewestVersions(
  file: MetadataFile,
  count: number,
  filter: NameArchFilter | undefined,
  options: MetadataThreadOptions,
): Promise<NewestVersionsReading> {
  const started = performance.now();
  const newest = new NewestVersions(count);
  let packages = 0;
  for await (const nevras of readPackageNevrasInThread(file, options)) {
    packages += nevras.length;
    // the filter depends on name and arch alone: a name.arch it leaves out needs no versions
    for (const p of nevras) if (filter?.exclusionOf(p.name, p.arch) === undefined) newest.offer(p);
  }
  return { retained: newest.retained(), packages, keys: newest.keys, milliseconds: performance.now() - started };
}
