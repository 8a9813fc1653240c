import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import { digestAlgorithmOf } from './checksum-type.js';
import { child, childText, type XmlElement, type XmlRecordSpec } from '../xml/xml-record-reader.js';

/** A package an advisory lists. */
export interface AdvisoryPackage {
  readonly name: string;
  readonly epoch: string;
  readonly version: string;
  readonly release: string;
  readonly arch: string;
  readonly src?: string;
  readonly filename?: string;
  readonly sum?: { readonly type: string; readonly value: string };
  readonly rebootSuggested?: boolean;
  /** The collection (`<collection short>`) it is listed under. */
  readonly collection?: string;
}

export interface AdvisoryReference {
  readonly href?: string;
  readonly id?: string;
  readonly type?: string;
  readonly title?: string;
}

/** One `<update>` of updateinfo.xml. */
export interface Advisory {
  readonly id: string;
  /** `security`, `bugfix`, `enhancement`, `newpackage`, … */
  readonly type: string;
  readonly status?: string;
  readonly severity?: string;
  readonly title: string;
  readonly summary?: string;
  readonly description?: string;
  readonly solution?: string;
  readonly release?: string;
  readonly rights?: string;
  readonly issued?: string;
  readonly updated?: string;
  readonly from?: string;
  readonly version?: string;
  readonly references: readonly AdvisoryReference[];
  readonly packages: readonly AdvisoryPackage[];
  readonly line: number;
}

export const UPDATEINFO_RECORDS = {
  root: 'updates',
  records: new Set(['update']),
} satisfies Omit<XmlRecordSpec, 'source'>;

/** Reads one `<update>` record; its `<id>` is required. */
export function advisoryOf(element: XmlElement, source: string): Advisory {
  const text = (name: string) => {
    const value = childText(element, name)?.trim();
    return value ? value : undefined;
  };
  const id = text('id');
  if (!id) throw new TributaryError(ErrorCodes.XML_INVALID, `${source}, line ${element.line}: an <update> has no <id>`, { details: { source, line: element.line } });
  const attrs = element.attributes;
  const references: AdvisoryReference[] = [];
  for (const reference of child(element, 'references')?.children ?? []) {
    if (reference.name !== 'reference') continue;
    references.push(pick(reference.attributes, ['href', 'id', 'type', 'title']));
  }
  const packages: AdvisoryPackage[] = [];
  for (const collection of child(element, 'pkglist')?.children ?? []) {
    if (collection.name !== 'collection') continue;
    const short = collection.attributes['short'];
    for (const p of collection.children) {
      if (p.name !== 'package' || !p.attributes['name']) continue;
      const a = p.attributes;
      const sum = child(p, 'sum');
      const reboot = childText(p, 'reboot_suggested')?.trim();
      packages.push({
        name: a['name']!,
        epoch: a['epoch']?.trim() || '0',
        version: a['version'] ?? '',
        release: a['release'] ?? '',
        arch: a['arch'] ?? '',
        ...(a['src'] ? { src: a['src'] } : {}),
        ...(childText(p, 'filename')?.trim() ? { filename: childText(p, 'filename')!.trim() } : {}),
        ...(sum && sum.text.trim() ? { sum: { type: digestAlgorithmOf(sum.attributes['type']) ?? sum.attributes['type'] ?? '', value: sum.text.trim().toLowerCase() } } : {}),
        ...(reboot ? { rebootSuggested: reboot === '1' || reboot.toLowerCase() === 'true' } : {}),
        ...(short ? { collection: short } : {}),
      });
    }
  }
  const date = (name: string) => child(element, name)?.attributes['date']?.trim() || undefined;
  return {
    id,
    type: attrs['type']?.trim() || 'unknown',
    ...optional('status', attrs['status']),
    ...optional('severity', text('severity')),
    title: text('title') ?? id,
    ...optional('summary', text('summary')),
    ...optional('description', childText(element, 'description')),
    ...optional('solution', text('solution')),
    ...optional('release', text('release')),
    ...optional('rights', text('rights')),
    ...optional('issued', date('issued')),
    ...optional('updated', date('updated')),
    ...optional('from', attrs['from']),
    ...optional('version', attrs['version']),
    references,
    packages,
    line: element.line,
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value !== undefined && value !== '' ? ({ [key]: value } as Partial<Record<K, string>>) : {};
}

function pick<K extends string>(attributes: Readonly<Record<string, string>>, keys: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const key of keys) if (attributes[key]) out[key] = attributes[key];
  return out;
}
