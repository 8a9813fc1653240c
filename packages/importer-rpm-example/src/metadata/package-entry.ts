import { storedRelativePath } from './location.js';
import type { PrimaryPackage } from './primary-package.js';

/**
 * A primary.xml package as the first stage needs it: what names it, where its file is, and its
 * unit metadata already as JSON text. The parsing thread builds these, so the metadata crosses to
 * the pipeline's thread as one string per package rather than as objects to rebuild there, and
 * the pipeline's thread never serialises it: the catalog stores the text as it is.
 */
export interface PackageEntry {
  /** The unit key, as the unit gets it. */
  readonly key: PackageKey;
  readonly location: PrimaryPackage['location'];
  /** `<size package>`: the RPM file's size, when primary gives it. */
  readonly packageSize: number | undefined;
  /** 1-based line of the `<package>` element in primary.xml. */
  readonly line: number;
  /** The unit metadata ({@link packageMetadata}) as canonical JSON. */
  readonly metadataJson: string;
}

/** An `rpm.package` unit key: NEVRA and pkgId (a mapped type, so it is a UnitKey as it is). */
export type PackageKey = Pick<PrimaryPackage, 'name' | 'epoch' | 'version' | 'release' | 'arch' | 'checksumType' | 'checksum'>;

export function packageEntryOf(p: PrimaryPackage): PackageEntry {
  return {
    key: {
      name: p.name,
      epoch: p.epoch,
      version: p.version,
      release: p.release,
      arch: p.arch,
      checksumType: p.checksumType,
      checksum: p.checksum,
    },
    location: p.location,
    packageSize: p.size.package,
    line: p.line,
    // built in sorted key order with no undefined that JSON would keep: canonical as it is
    metadataJson: JSON.stringify(packageMetadata(p)),
  };
}

/**
 * The unit metadata of a package: the usual header fields. Keys in sorted order (sizes and times
 * too), so its JSON text is canonical JSON.
 */
export function packageMetadata(p: PrimaryPackage): Record<string, unknown> {
  const { href, xmlBase } = p.location;
  const relativePath = storedRelativePath(href);
  return {
    buildhost: p.buildhost,
    description: p.description,
    group: p.group,
    license: p.license,
    location: xmlBase ? { href, relativePath, xmlBase } : { href, relativePath },
    packager: p.packager,
    provides: p.provides,
    requires: p.requires,
    size: p.size,
    sourcerpm: p.sourcerpm,
    summary: p.summary,
    time: p.time,
    url: p.url,
    vendor: p.vendor,
  };
}
