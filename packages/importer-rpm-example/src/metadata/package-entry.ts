import { storedRelativePath } from './location.js';
import type { Changelog, PackageFile } from './package-details.js';
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

/**
 * The entry of `p`; `files` (from filelists) replace the files primary lists, and `changelogs`
 * (from other) are recorded when given.
 */
export function packageEntryOf(p: PrimaryPackage, files?: readonly PackageFile[], changelogs?: readonly Changelog[]): PackageEntry {
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
    metadataJson: JSON.stringify(packageMetadata(p, files, changelogs)),
  };
}

/**
 * The unit metadata of a package: everything primary says of it, its files (filelists', else
 * primary's) and its newest changelogs (other's, else none), so repodata can be written from it
 * again. Dependency lists other than provides and requires are left out when empty. Keys in sorted
 * order (sizes, times and header range too), so its JSON text is canonical JSON.
 */
export function packageMetadata(p: PrimaryPackage, files?: readonly PackageFile[], changelogs?: readonly Changelog[]): Record<string, unknown> {
  const { href, xmlBase } = p.location;
  const relativePath = storedRelativePath(href);
  return {
    buildhost: p.buildhost,
    changelogs: changelogs ?? [],
    ...(p.conflicts.length > 0 ? { conflicts: p.conflicts } : {}),
    description: p.description,
    ...(p.enhances.length > 0 ? { enhances: p.enhances } : {}),
    files: files ?? p.files,
    group: p.group,
    ...(p.headerRange ? { headerRange: p.headerRange } : {}),
    license: p.license,
    location: xmlBase ? { href, relativePath, xmlBase } : { href, relativePath },
    ...(p.obsoletes.length > 0 ? { obsoletes: p.obsoletes } : {}),
    packager: p.packager,
    provides: p.provides,
    ...(p.recommends.length > 0 ? { recommends: p.recommends } : {}),
    requires: p.requires,
    size: p.size,
    sourcerpm: p.sourcerpm,
    ...(p.suggests.length > 0 ? { suggests: p.suggests } : {}),
    summary: p.summary,
    ...(p.supplements.length > 0 ? { supplements: p.supplements } : {}),
    time: p.time,
    url: p.url,
    vendor: p.vendor,
  };
}

/** Values per entry in a packed batch ({@link packEntries}). */
const PACKED_FIELDS = 12;

/**
 * A batch of entries as one flat list of strings, numbers and nulls, as the parsing thread posts
 * it: cloning a dense list of primitives costs both threads less than cloning objects, whose
 * property names are written and read again for every one (−0.25 s of CPU per 100,000 packages).
 */
export function packEntries(entries: readonly PackageEntry[]): (string | number | null)[] {
  const packed = new Array<string | number | null>(entries.length * PACKED_FIELDS);
  let at = 0;
  for (const { key, location, packageSize, line, metadataJson } of entries) {
    packed[at++] = key.name;
    packed[at++] = key.epoch;
    packed[at++] = key.version;
    packed[at++] = key.release;
    packed[at++] = key.arch;
    packed[at++] = key.checksumType;
    packed[at++] = key.checksum;
    packed[at++] = location.href;
    packed[at++] = location.xmlBase ?? null;
    packed[at++] = packageSize ?? null;
    packed[at++] = line;
    packed[at++] = metadataJson;
  }
  return packed;
}

/** The entries of a batch {@link packEntries} packed. */
export function unpackEntries(packed: readonly (string | number | null)[]): PackageEntry[] {
  const values = packed as readonly string[];
  const entries = new Array<PackageEntry>(packed.length / PACKED_FIELDS);
  for (let i = 0, at = 0; at < packed.length; i++, at += PACKED_FIELDS) {
    const xmlBase = packed[at + 8] as string | null;
    const size = packed[at + 9] as number | null;
    entries[i] = {
      key: {
        name: values[at]!,
        epoch: values[at + 1]!,
        version: values[at + 2]!,
        release: values[at + 3]!,
        arch: values[at + 4]!,
        checksumType: values[at + 5] as PackageKey['checksumType'],
        checksum: values[at + 6]!,
      },
      location: xmlBase === null ? { href: values[at + 7]! } : { href: values[at + 7]!, xmlBase },
      packageSize: size ?? undefined,
      line: packed[at + 10] as number,
      metadataJson: values[at + 11]!,
    };
  }
  return entries;
}
