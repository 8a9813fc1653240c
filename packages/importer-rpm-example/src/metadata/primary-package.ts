import { ErrorCodes, TributaryError, type DigestAlgorithm } from '@tributary/plugin-api';
import { checkedChecksum } from './checksum-type.js';
import type { Dependency, PackageFile } from './package-details.js';
import type { StringPool } from './string-pool.js';
import { detachStrings } from '../xml/detached-strings.js';

/** One `<package>` of primary.xml, as much of it as the importer keeps. */
export interface PrimaryPackage {
  readonly name: string;
  /** "0" when primary gives none. */
  readonly epoch: string;
  readonly version: string;
  readonly release: string;
  readonly arch: string;
  /** pkgId: the checksum of the RPM file. */
  readonly checksumType: DigestAlgorithm;
  readonly checksum: string;
  readonly summary: string;
  readonly description: string;
  readonly url: string;
  readonly packager: string;
  readonly license: string;
  readonly vendor: string;
  readonly group: string;
  readonly buildhost: string;
  readonly sourcerpm: string;
  readonly size: PackageSizes;
  readonly time: PackageTimes;
  readonly location: { readonly href: string; readonly xmlBase?: string };
  /** `<rpm:header-range>`: where the RPM's header lies in its file, when primary gives it. */
  readonly headerRange?: { readonly end: number; readonly start: number };
  /** The `<rpm:entry>` elements of `<rpm:provides>`, in order, with flags, versions and `pre`. */
  readonly provides: readonly Dependency[];
  readonly requires: readonly Dependency[];
  readonly conflicts: readonly Dependency[];
  readonly obsoletes: readonly Dependency[];
  readonly suggests: readonly Dependency[];
  readonly enhances: readonly Dependency[];
  readonly recommends: readonly Dependency[];
  readonly supplements: readonly Dependency[];
  /** The `<file>` elements of `<format>`: the files createrepo_c lists in primary (see isPrimaryFile). */
  readonly files: readonly PackageFile[];
  /** 1-based line of the `<package>` element in primary.xml. */
  readonly line: number;
}

/** `<size>`: each attribute that is a non-negative integer. */
export interface PackageSizes {
  readonly package?: number;
  readonly installed?: number;
  readonly archive?: number;
}

/** `<time>`: each attribute that is a non-negative integer. */
export interface PackageTimes {
  readonly file?: number;
  readonly build?: number;
}

/** What names a package the way advisories do. */
export interface Nevra {
  readonly name: string;
  readonly epoch: string;
  readonly version: string;
  readonly release: string;
  readonly arch: string;
}

/** `name-epoch:version-release.arch`: how advisories name a package. */
export function nevraOf(p: Nevra): string {
  return `${p.name}-${p.epoch || '0'}:${p.version}-${p.release}.${p.arch}`;
}

/** Whitespace (Unicode's too) and control characters (C0, DEL, C1): in no NEVRA field. */
const BAD_NEVRA_CHARACTER = /[\s\x00-\x1f\x7f-\x9f]/;
/** What version and release may not hold: the above, '-' and ':'. */
const BAD_VERSION_CHARACTER = /[\s\x00-\x1f\x7f-\x9f:-]/;
const DIGITS = /^[0-9]+$/;
/** rpm's epoch is an unsigned 32-bit integer. */
const MAX_EPOCH = 0xffffffff;

/**
 * Why a package's NEVRA (after trimming; epoch "0" when primary gives none) cannot name a unit, or
 * undefined when it can. rpm's rules, as far as a key needs them: no field is empty or holds
 * whitespace or a control character; version and release hold no '-' or ':' (rpmbuild refuses
 * both, and `name-epoch:version-release.arch` could then be read two ways); the epoch is a
 * non-negative integer that fits rpm's 32 bits.
 */
export function nevraFieldProblem(name: string, epoch: string, version: string, release: string, arch: string): string | undefined {
  // the usual case in a few tests (this runs for every package of primary)
  if (!BAD_NEVRA_CHARACTER.test(name) && !BAD_NEVRA_CHARACTER.test(arch) && !BAD_VERSION_CHARACTER.test(version) && !BAD_VERSION_CHARACTER.test(release) && DIGITS.test(epoch) && (epoch.length < 10 || Number(epoch) <= MAX_EPOCH)) {
    return undefined;
  }
  for (const [field, value] of [['name', name], ['epoch', epoch], ['version', version], ['release', release], ['arch', arch]] as const) {
    const bad = BAD_NEVRA_CHARACTER.exec(value);
    if (bad) return `its ${field} ${JSON.stringify(value)} holds ${bad[0].trim() ? 'the control character' : 'whitespace'} U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}, which rpm does not allow`;
  }
  if (!DIGITS.test(epoch) || Number(epoch) > MAX_EPOCH) return `its epoch ${JSON.stringify(epoch)} is not a non-negative integer (of at most 32 bits)`;
  for (const [field, value] of [['version', version], ['release', release]] as const) {
    const bad = /[-:]/.exec(value);
    if (bad) return `its ${field} ${JSON.stringify(value)} holds '${bad[0]}', which rpm does not allow in a ${field}`;
  }
  return undefined;
}

/** What a reader collects of one `<package>`, before {@link checkedPrimaryPackage} checks it. */
export interface PrimaryPackageFields {
  name: string;
  arch: string;
  /** `<version>` attributes; `hasVersion` false when there is no `<version>` at all. */
  hasVersion: boolean;
  epoch: string | undefined;
  ver: string | undefined;
  rel: string | undefined;
  /** `<checksum type>` and text; `checksum` undefined when there is no `<checksum>`. */
  checksumType: string | undefined;
  checksum: string | undefined;
  summary: string;
  description: string;
  url: string;
  packager: string;
  license: string;
  vendor: string;
  group: string;
  buildhost: string;
  sourcerpm: string;
  size: PackageSizes;
  time: PackageTimes;
  href: string | undefined;
  xmlBase: string | undefined;
  headerRange: { end: number; start: number } | undefined;
  provides: Dependency[];
  requires: Dependency[];
  conflicts: Dependency[];
  obsoletes: Dependency[];
  suggests: Dependency[];
  enhances: Dependency[];
  recommends: Dependency[];
  supplements: Dependency[];
  files: PackageFile[];
  /** 1-based line of the `<package>` element. */
  line: number;
}

/** Fields of a package nothing has been read of yet. */
export function emptyPackageFields(line: number): PrimaryPackageFields {
  return {
    name: '',
    arch: '',
    hasVersion: false,
    epoch: undefined,
    ver: undefined,
    rel: undefined,
    checksumType: undefined,
    checksum: undefined,
    summary: '',
    description: '',
    url: '',
    packager: '',
    license: '',
    vendor: '',
    group: '',
    buildhost: '',
    sourcerpm: '',
    size: {},
    time: {},
    href: undefined,
    xmlBase: undefined,
    headerRange: undefined,
    provides: [],
    requires: [],
    conflicts: [],
    obsoletes: [],
    suggests: [],
    enhances: [],
    recommends: [],
    supplements: [],
    files: [],
    line,
  };
}

/**
 * The package `fields` describe, checked: name, arch, version/release, checksum and location are
 * required, and the NEVRA must be one rpm allows ({@link nevraFieldProblem}) (TRIBUTARY_ERR_XML_INVALID
 * naming `source`, the line and the package otherwise; an unsupported checksum is
 * TRIBUTARY_ERR_DIGEST_INVALID).
 *
 * A package stays in the pipeline for a while: its strings must not keep the decompressed chunk of
 * primary.xml it was read from alive all that time. Values that repeat across packages come from
 * `pool`; the others are detached in one piece (see {@link detachStrings}).
 */
export function checkedPrimaryPackage(f: PrimaryPackageFields, source: string, pool: StringPool): PrimaryPackage {
  const invalid = (message: string): never => {
    throw new TributaryError(ErrorCodes.XML_INVALID, `${source}, line ${f.line}: ${message}`, { details: { source, line: f.line } });
  };
  const name = f.name.trim() || invalid('a <package> has no <name>');
  const arch = f.arch.trim() || invalid(`package ${name} has no <arch>`);
  if (!f.hasVersion) invalid(`package ${name} has no <version>`);
  const version = f.ver?.trim() || invalid(`package ${name} has no version (<version ver>)`);
  const release = f.rel?.trim() || invalid(`package ${name} has no release (<version rel>)`);
  const epoch = f.epoch?.trim() || '0';
  const nevraProblem = nevraFieldProblem(name, epoch, version, release, arch);
  if (nevraProblem) {
    throw new TributaryError(ErrorCodes.XML_INVALID, `${source}, line ${f.line}: package ${JSON.stringify(name)}: ${nevraProblem}`, { details: { source, line: f.line, package: name } });
  }
  if (f.checksum === undefined) invalid(`package ${name} has no <checksum>`);
  const { algorithm, hex } = checkedChecksum(f.checksumType, f.checksum, () => `${source}, line ${f.line} (package ${name})`);
  const href = f.href?.trim() || invalid(`package ${name} has no <location href>`);
  const xmlBase = f.xmlBase?.trim() || undefined;
  // dependency fields were pooled as they were read. File paths stay views: the parsing thread
  // writes a package's entry at once, and those that cross threads are copies anyway
  const texts = [name, version, release, hex, f.summary, f.description, f.url, f.sourcerpm, href, xmlBase ?? ''];
  detachStrings(texts);
  return {
    name: texts[0]!,
    epoch: pool.intern(epoch),
    version: texts[1]!,
    release: texts[2]!,
    arch: pool.intern(arch),
    checksumType: algorithm,
    checksum: texts[3]!,
    summary: texts[4]!,
    description: texts[5]!,
    url: texts[6]!,
    packager: pool.intern(f.packager),
    license: pool.intern(f.license),
    vendor: pool.intern(f.vendor),
    group: pool.intern(f.group),
    buildhost: pool.intern(f.buildhost),
    sourcerpm: texts[7]!,
    size: f.size,
    time: f.time,
    location: xmlBase ? { href: texts[8]!, xmlBase: texts[9]! } : { href: texts[8]! },
    ...(f.headerRange ? { headerRange: f.headerRange } : {}),
    provides: f.provides,
    requires: f.requires,
    conflicts: f.conflicts,
    obsoletes: f.obsoletes,
    suggests: f.suggests,
    enhances: f.enhances,
    recommends: f.recommends,
    supplements: f.supplements,
    files: f.files,
    line: f.line,
  };
}
