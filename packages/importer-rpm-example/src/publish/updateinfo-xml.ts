import type { PublishUnit } from '@tributary/plugin-api';
import type { Nevra } from '../metadata/primary-package.js';
import type { AdvisoryCollection, AdvisoryPackage, AdvisoryReference } from '../metadata/updateinfo-advisory.js';
import { xmlAttribute as attr, xmlText as text } from './repodata-xml-text.js';

export const UPDATEINFO_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n<updates>\n';
export const UPDATEINFO_FOOTER = '</updates>';

/**
 * The `<update>` element of an `rpm.advisory` unit as createrepo_c writes one (its
 * `cr_xml_dump_updaterecord`: element order, optional elements left out, `<references/>` and
 * `<pkglist/>` always there), listing only the packages `present` says the version holds, each
 * under its collection. Undefined when none of its packages is present: dnf would offer an update
 * the repository cannot install.
 */
export function updateXml(unit: PublishUnit, present: (nevra: Nevra) => boolean): string | undefined {
  const m = unit.metadata;
  const packages = ((m['packages'] as AdvisoryPackage[] | undefined) ?? []).filter((p) => present(p));
  if (packages.length === 0) return undefined;
  const s = (field: string): string | undefined => (typeof m[field] === 'string' ? (m[field] as string) : undefined);
  let out = '  <update';
  for (const field of ['from', 'status', 'type', 'version']) if (s(field) !== undefined) out += ` ${field}="${attr(s(field)!)}"`;
  out += '>\n';
  out += `    <id>${text(String(unit.key['id']))}</id>\n`;
  out += `    <title>${text(s('title') ?? '')}</title>\n`;
  if (s('issued') !== undefined) out += `    <issued date="${attr(s('issued')!)}"/>\n`;
  if (s('updated') !== undefined) out += `    <updated date="${attr(s('updated')!)}"/>\n`;
  for (const field of ['rights', 'release', 'pushcount', 'severity', 'summary', 'description', 'solution']) {
    if (s(field) !== undefined) out += `    <${field}>${text(s(field)!)}</${field}>\n`;
  }
  if (m['rebootSuggested'] === true) out += '    <reboot_suggested>True</reboot_suggested>\n';
  const references = (m['references'] as AdvisoryReference[] | undefined) ?? [];
  if (references.length === 0) out += '    <references/>\n';
  else {
    out += '    <references>\n';
    for (const r of references) {
      out += '      <reference';
      for (const field of ['href', 'id', 'type', 'title'] as const) if (r[field] !== undefined) out += ` ${field}="${attr(r[field])}"`;
      out += '/>\n';
    }
    out += '    </references>\n';
  }
  out += '    <pkglist>\n';
  for (const { collection, listed } of byCollection(packages, (m['collections'] as AdvisoryCollection[] | undefined) ?? [])) {
    out += collection.short !== undefined ? `      <collection short="${attr(collection.short)}">\n` : '      <collection>\n';
    if (collection.name !== undefined) out += `        <name>${text(collection.name)}</name>\n`;
    if (collection.module) {
      out += '        <module';
      for (const field of ['name', 'stream', 'version', 'context', 'arch']) {
        const value = collection.module[field];
        if (value !== undefined) out += ` ${field}="${attr(value)}"`;
      }
      out += '/>\n';
    }
    for (const p of listed) out += packageElement(p);
    out += '      </collection>\n';
  }
  return `${out}    </pkglist>\n  </update>\n`;
}

function packageElement(p: AdvisoryPackage): string {
  let out = `        <package name="${attr(p.name)}" version="${attr(p.version)}" release="${attr(p.release)}" epoch="${attr(p.epoch)}" arch="${attr(p.arch)}"`;
  if (p.src !== undefined) out += ` src="${attr(p.src)}"`;
  let children = '';
  if (p.filename !== undefined) children += `          <filename>${text(p.filename)}</filename>\n`;
  if (p.sum !== undefined) children += `          <sum type="${attr(p.sum.type)}">${text(p.sum.value)}</sum>\n`;
  if (p.rebootSuggested === true) children += '          <reboot_suggested>True</reboot_suggested>\n';
  if (p.restartSuggested === true) children += '          <restart_suggested>True</restart_suggested>\n';
  if (p.reloginSuggested === true) children += '          <relogin_suggested>True</relogin_suggested>\n';
  return children === '' ? `${out}/>\n` : `${out}>\n${children}        </package>\n`;
}

/**
 * The packages grouped under the collections they were listed in, in the advisory's order;
 * collections left with no package are left out. An advisory recorded before collections were
 * kept gets one collection per short name its packages give.
 */
function byCollection(packages: readonly AdvisoryPackage[], collections: readonly AdvisoryCollection[]): { collection: AdvisoryCollection; listed: AdvisoryPackage[] }[] {
  const known: AdvisoryCollection[] = [...collections];
  for (const p of packages) {
    if (!known.some((c) => c.short === p.collection)) known.push(p.collection !== undefined ? { short: p.collection } : {});
  }
  const groups: { collection: AdvisoryCollection; listed: AdvisoryPackage[] }[] = [];
  const claimed = new Set<string | undefined>();
  for (const collection of known) {
    if (claimed.has(collection.short)) continue;
    claimed.add(collection.short);
    const listed = packages.filter((p) => p.collection === collection.short);
    if (listed.length > 0) groups.push({ collection, listed });
  }
  return groups;
}
