import type { Nevra } from '../metadata/primary-package.js';
import type { NameArchFilter, NameArchExclusion } from './name-arch-filter.js';
import type { RetainedVersions } from './newest-versions.js';

/** Why a sync leaves a package out: its name, its arch, or an older version than `retainPackageVersions` keeps. */
export type PackageExclusion = NameArchExclusion | 'version';

/**
 * Which packages of primary a sync keeps: the name and arch filter, then the newest versions of
 * each name.arch. Both depend on the package's name and arch only (retention counts versions per
 * name.arch), so applying them in either order gives the same packages. Advisories' package
 * lists go through the same selection.
 */
export class PackageSelection {
  static readonly everything = new PackageSelection(undefined, undefined);

  constructor(
    private readonly filter: NameArchFilter | undefined,
    private readonly retained: RetainedVersions | undefined,
  ) {}

  /** True when every package is kept: no filter and no retention. */
  get keepsEverything(): boolean {
    return this.filter === undefined && this.retained === undefined;
  }

  /** Why `p` is left out; undefined when it is kept. */
  exclusionOf(p: Nevra): PackageExclusion | undefined {
    const byNameOrArch = this.filter?.exclusionOf(p.name, p.arch);
    if (byNameOrArch !== undefined) return byNameOrArch;
    if (this.retained !== undefined && !this.retained.keeps(p)) return 'version';
    return undefined;
  }

  keeps(p: Nevra): boolean {
    return this.exclusionOf(p) === undefined;
  }
}

/** Packages left out, by reason; the sync log reports them. */
export class ExclusionCounts {
  name = 0;
  arch = 0;
  version = 0;

  add(reason: PackageExclusion): void {
    this[reason]++;
  }

  get total(): number {
    return this.name + this.arch + this.version;
  }

  /** `3 by name, 1 by arch, 2 older versions` (only the reasons that count). */
  toString(): string {
    const parts: string[] = [];
    if (this.name > 0) parts.push(`${this.name} by name`);
    if (this.arch > 0) parts.push(`${this.arch} by arch`);
    if (this.version > 0) parts.push(`${this.version} older version(s)`);
    return parts.join(', ') || 'none';
  }
}
