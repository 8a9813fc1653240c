import type { RepodataRecord } from './repodata-document.js';
import { xmlAttribute as attr, xmlText as text } from './repodata-xml-text.js';

/** Where createrepo_c puts a record among the others: primary, filelists, other, then by type. */
const FIRST = ['primary', 'filelists', 'other'];

/** repomd.xml as createrepo_c writes it, listing `records`. */
export function repomdXml(revision: string, records: readonly RepodataRecord[]): string {
  const rank = (type: string) => (FIRST.includes(type) ? FIRST.indexOf(type) : FIRST.length);
  const sorted = [...records].sort((a, b) => rank(a.type) - rank(b.type) || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  let out = '<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">\n';
  out += `  <revision>${text(revision)}</revision>\n`;
  for (const r of sorted) {
    out += `  <data type="${attr(r.type)}">\n`;
    out += `    <checksum type="${attr(r.checksumType)}">${r.checksum}</checksum>\n`;
    if (r.openChecksum !== undefined) out += `    <open-checksum type="${attr(r.checksumType)}">${r.openChecksum}</open-checksum>\n`;
    out += `    <location href="${attr(r.href)}"/>\n`;
    out += `    <timestamp>${r.timestamp}</timestamp>\n`;
    out += `    <size>${r.size}</size>\n`;
    if (r.openSize !== undefined) out += `    <open-size>${r.openSize}</open-size>\n`;
    out += '  </data>\n';
  }
  return `${out}</repomd>\n`;
}
