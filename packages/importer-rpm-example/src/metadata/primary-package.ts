import { ErrorCodes, TributaryError, type DigestAlgorithm } from '@tributary/plugin-api';
import { checkedChecksum } from './checksum-type.js';
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
  /** Names of the `<rpm:entry>` elements of `<rpm:provides>` (no versions). */
  readonly provides: readonly string[];
  /** Names of the `<rpm:entry>` elements of `<rpm:requires>` (no versions). */
  readonly requires: readonly string[];
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
  provides: string[];
  requires: string[];
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
    provides: [],
    requires: [],
    line,
  };
}

/**
 * The package `fields` describe, checked: name, arch, version/release, checksum and location are
 * required (TRIBUTARY_ERR_XML_INVALID naming `source` and the line otherwise; an unsupported
 * checksum is TRIBUTARY_ERR_DIGEST_INVALID).
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
  if (f.checksum === undefined) invalid(`package ${name} has no <checksum>`);
  const { algorithm, hex } = checkedChecksum(f.checksumType, f.checksum, () => `${source}, line ${f.line} (package ${name})`);
  const href = f.href?.trim() || invalid(`package ${name} has no <location href>`);
  const xmlBase = f.xmlBase?.trim() || undefined;
  const texts = [name, version, release, hex, f.summary, f.description, f.url, f.sourcerpm, href, xmlBase ?? ''];
  const fields = texts.length;
  for (const entry of f.provides) texts.push(entry);
  detachStrings(texts);
  const requires = f.requires;
  for (let i = 0; i < requires.length; i++) requires[i] = pool.intern(requires[i]!);
  return {
    name: texts[0]!,
    epoch: pool.intern(f.epoch?.trim() || '0'),
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
    provides: texts.slice(fields),
    requires,
    line: f.line,
  };
}
