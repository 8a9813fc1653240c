import type { PublishUnit } from '@tributary/plugin-api';
import { DEPENDENCY_KINDS, isPrimaryFile } from '../metadata/package-details.js';
import { needsAttributeEscape, needsTextEscape, xmlAttribute as attr, xmlText as text } from './repodata-xml-text.js';

/**
 * The `<package>` elements of primary.xml, filelists.xml and other.xml for one `rpm.package`
 * unit, laid out as createrepo_c lays them out (element order, indentation, empty elements,
 * escaping), from what the sync recorded (see packageMetadata). `href` is where the publication
 * serves the RPM. Units recorded before files and changelogs were kept (dependencies then were
 * names only) are written with what they have.
 */
export interface PackageXml {
  readonly primary: string;
  readonly filelists: string;
  readonly other: string;
}

type Metadata = Readonly<Record<string, unknown>>;

export function packageXml(unit: PublishUnit, href: string): PackageXml {
  const { key } = unit;
  const m = unit.metadata;
  const name = String(key['name']);
  const arch = String(key['arch']);
  const pkgId = String(key['checksum']);
  const version = `<version epoch="${attr(String(key['epoch']))}" ver="${attr(String(key['version']))}" rel="${attr(String(key['release']))}"/>`;
  const files = fileList(m['files']);
  const time = record(m['time']);
  const size = record(m['size']);
  const range = record(m['headerRange']);
  let primary =
    `<package type="rpm">\n` +
    `  <name>${text(name)}</name>\n` +
    `  <arch>${text(arch)}</arch>\n` +
    `  ${version}\n` +
    `  <checksum type="${attr(String(key['checksumType']))}" pkgid="YES">${text(pkgId)}</checksum>\n` +
    `  <summary>${text(string(m, 'summary'))}</summary>\n` +
    `  <description>${text(string(m, 'description'))}</description>\n` +
    `  <packager>${text(string(m, 'packager'))}</packager>\n` +
    `  <url>${text(string(m, 'url'))}</url>\n` +
    `  <time file="${int(time['file'])}" build="${int(time['build'])}"/>\n` +
    `  <size package="${int(size['package'])}" installed="${int(size['installed'])}" archive="${int(size['archive'])}"/>\n` +
    `  <location href="${attr(href)}"/>\n` +
    `  <format>\n` +
    `    <rpm:license>${text(string(m, 'license'))}</rpm:license>\n` +
    `    <rpm:vendor>${text(string(m, 'vendor'))}</rpm:vendor>\n` +
    `    <rpm:group>${text(string(m, 'group'))}</rpm:group>\n` +
    `    <rpm:buildhost>${text(string(m, 'buildhost'))}</rpm:buildhost>\n` +
    `    <rpm:sourcerpm>${text(string(m, 'sourcerpm'))}</rpm:sourcerpm>\n` +
    `    <rpm:header-range start="${int(range['start'])}" end="${int(range['end'])}"/>\n`;
  for (const kind of DEPENDENCY_KINDS) primary += dependencies(kind, m[kind]);
  let fileElements = '';
  // one test for all the paths: most packages have none that needs escaping
  const plainPaths = !needsTextEscape(files.map((f) => f[0]).join('\n')) && !files.some((f) => f[1] !== undefined && needsAttributeEscape(f[1]));
  for (const file of files) {
    const element = plainPaths ? plainFileElement(file) : fileElement(file);
    fileElements += `  ${element}\n`;
    if (isPrimaryFile(file[0])) primary += `    ${element}\n`;
  }
  primary += '  </format>\n</package>\n';
  const head = `<package pkgid="${attr(pkgId)}" name="${attr(name)}" arch="${attr(arch)}">\n  ${version}\n`;
  let other = head;
  for (const [author, date, entry] of changelogList(m['changelogs'])) other += `  <changelog author="${attr(author)}" date="${date}">${text(entry)}</changelog>\n`;
  return { primary, filelists: `${head}${fileElements}</package>\n`, other: `${other}</package>\n` };
}

function dependencies(kind: string, list: unknown): string {
  if (!Array.isArray(list) || list.length === 0) return '';
  // units recorded before dependencies were kept whole hold names only
  const deps = (list as unknown[]).map((item) => (typeof item === 'string' ? [item] : item) as readonly (string | null | true | undefined)[]);
  // one test for every value of the list: most need no escaping
  const escape = needsAttributeEscape(deps.map((d) => d.join(' ')).join(' ')) ? attr : (value: string) => value;
  let out = `    <rpm:${kind}>\n`;
  for (const dep of deps) {
    out += `      <rpm:entry name="${escape(String(dep[0]))}"`;
    if (dep[1] != null) out += ` flags="${escape(String(dep[1]))}"`;
    if (dep[2] != null) out += ` epoch="${escape(String(dep[2]))}"`;
    if (dep[3] != null) out += ` ver="${escape(String(dep[3]))}"`;
    if (dep[4] != null) out += ` rel="${escape(String(dep[4]))}"`;
    if (dep[5] === true) out += ' pre="1"';
    out += '/>\n';
  }
  return `${out}    </rpm:${kind}>\n`;
}

function plainFileElement(file: readonly string[]): string {
  const type = file[1];
  return type ? `<file type="${type}">${file[0]!}</file>` : `<file>${file[0]!}</file>`;
}

function fileElement(file: readonly string[]): string {
  const type = file[1];
  return type ? `<file type="${attr(type)}">${text(file[0]!)}</file>` : `<file>${text(file[0]!)}</file>`;
}

function fileList(value: unknown): readonly (readonly string[])[] {
  return Array.isArray(value) ? (value as (readonly string[])[]) : [];
}

function changelogList(value: unknown): readonly (readonly [string, number, string])[] {
  return Array.isArray(value) ? (value as (readonly [string, number, string])[]) : [];
}

function string(m: Metadata, field: string): string {
  const value = m[field];
  return typeof value === 'string' ? value : '';
}

function record(value: unknown): Metadata {
  return typeof value === 'object' && value !== null ? (value as Metadata) : {};
}

function int(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}
