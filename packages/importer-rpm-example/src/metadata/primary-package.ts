import { ErrorCodes, TributaryError, type DigestAlgorithm } from '@tributary/plugin-api';
import { checkedChecksum } from './checksum-type.js';
import { child, childText, type XmlElement, type XmlRecordSpec } from '../xml/xml-record-reader.js';

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
  readonly size: { readonly package?: number; readonly installed?: number; readonly archive?: number };
  readonly time: { readonly file?: number; readonly build?: number };
  readonly location: { readonly href: string; readonly xmlBase?: string };
  readonly provides: readonly string[];
  readonly requires: readonly string[];
  /** 1-based line of the `<package>` element in primary.xml. */
  readonly line: number;
}

/** Which parts of primary.xml to read: packages, without file lists and the rarer dependency kinds. */
export const PRIMARY_RECORDS = {
  root: 'metadata',
  records: new Set(['package']),
  skip: new Set(['file', 'conflicts', 'obsoletes', 'suggests', 'enhances', 'recommends', 'supplements', 'header-range']),
} satisfies Omit<XmlRecordSpec, 'source'>;

/** `name-epoch:version-release.arch`: how advisories name a package. */
export function nevraOf(p: { name: string; epoch: string; version: string; release: string; arch: string }): string {
  return `${p.name}-${p.epoch || '0'}:${p.version}-${p.release}.${p.arch}`;
}

/**
 * Reads one `<package>` record. Name, arch, version/release, checksum and location are required
 * (TRIBUTARY_ERR_XML_INVALID naming the line otherwise); everything else defaults to empty.
 */
export function primaryPackageOf(element: XmlElement, source: string): PrimaryPackage {
  const where = `${source}, line ${element.line}`;
  const invalid = (message: string): never => {
    throw new TributaryError(ErrorCodes.XML_INVALID, `${where}: ${message}`, { details: { source, line: element.line } });
  };
  const name = childText(element, 'name')?.trim() || invalid('a <package> has no <name>');
  const arch = childText(element, 'arch')?.trim() || invalid(`package ${name} has no <arch>`);
  const version = child(element, 'version') ?? invalid(`package ${name} has no <version>`);
  const ver = version.attributes['ver']?.trim() || invalid(`package ${name} has no version (<version ver>)`);
  const rel = version.attributes['rel']?.trim() || invalid(`package ${name} has no release (<version rel>)`);
  const checksumElement = child(element, 'checksum') ?? invalid(`package ${name} has no <checksum>`);
  const { algorithm, hex } = checkedChecksum(checksumElement.attributes['type'], checksumElement.text, `${where} (package ${name})`);
  const location = child(element, 'location');
  const href = location?.attributes['href']?.trim() || invalid(`package ${name} has no <location href>`);
  const xmlBase = location?.attributes['xml:base']?.trim() || undefined;
  const format = child(element, 'format');
  const formatText = (field: string) => (format ? childText(format, field) ?? '' : '');
  const sizes = child(element, 'size')?.attributes ?? {};
  const times = child(element, 'time')?.attributes ?? {};
  return {
    name,
    epoch: version.attributes['epoch']?.trim() || '0',
    version: ver,
    release: rel,
    arch,
    checksumType: algorithm,
    checksum: hex,
    summary: childText(element, 'summary') ?? '',
    description: childText(element, 'description') ?? '',
    url: childText(element, 'url') ?? '',
    packager: childText(element, 'packager') ?? '',
    license: formatText('license'),
    vendor: formatText('vendor'),
    group: formatText('group'),
    buildhost: formatText('buildhost'),
    sourcerpm: formatText('sourcerpm'),
    size: integers(sizes, ['package', 'installed', 'archive']),
    time: integers(times, ['file', 'build']),
    location: { href, ...(xmlBase ? { xmlBase } : {}) },
    provides: entryNames(format && child(format, 'provides')),
    requires: entryNames(format && child(format, 'requires')),
    line: element.line,
  };
}

function integers<K extends string>(attributes: Readonly<Record<string, string>>, keys: readonly K[]): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const key of keys) {
    const value = Number(attributes[key]);
    if (attributes[key] !== undefined && Number.isSafeInteger(value) && value >= 0) out[key] = value;
  }
  return out;
}

function entryNames(list: XmlElement | undefined): string[] {
  if (!list) return [];
  const names: string[] = [];
  for (const entry of list.children) {
    const name = entry.attributes['name'];
    if (entry.name === 'entry' && name) names.push(name);
  }
  return names;
}
