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
  readonly restartSuggested?: boolean;
  readonly reloginSuggested?: boolean;
  /** The collection (`<collection short>`) it is listed under. */
  readonly collection?: string;
}

/** A `<collection>` of the pkglist: its short name, name and module (as updateinfo gives them). */
export interface AdvisoryCollection {
  readonly short?: string;
  readonly name?: string;
  readonly module?: Readonly<Record<string, string>>;
}

export interface AdvisoryReference {
  readonly href?: string;
  readonly id?: string;
  readonly type?: string;
  readonly title?: string;
}

/** One `<update>` of updateinfo.xml. */
export interface Advisory {
  /** The pkglist's collections, in order (the packages name theirs by `collection`). */
  readonly collections: readonly AdvisoryCollection[];
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
  readonly pushcount?: string;
  /** The update's own `<reboot_suggested>`. */
  readonly rebootSuggested?: boolean;
  readonly references: readonly AdvisoryReference[];
  readonly packages: readonly AdvisoryPackage[];
  readonly line: number;
}

export const UPDATEINFO_RECORDS = {
  root: 'updates',
  records: new Set(['update']),
} satisfies Omit<XmlRecordSpec, 'source'>;

/**
 * Reads one `<update>` record; its `<id>` is required. The objects are built with their keys in
 * sorted order, so metadata made of them is canonical JSON as it is (see {@link advisoryMetadata}).
 */
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
    references.push(pick(reference.attributes, ['href', 'id', 'title', 'type']));
  }
  const packages: AdvisoryPackage[] = [];
  const collections: AdvisoryCollection[] = [];
  for (const collection of child(element, 'pkglist')?.children ?? []) {
    if (collection.name !== 'collection') continue;
    const short = collection.attributes['short'];
    const collectionName = childText(collection, 'name')?.trim();
    const module = child(collection, 'module');
    collections.push({
      ...(module ? { module: pick(module.attributes, ['arch', 'context', 'name', 'stream', 'version']) as Record<string, string> } : {}),
      ...(collectionName ? { name: collectionName } : {}),
      ...(short ? { short } : {}),
    });
    for (const p of collection.children) {
      if (p.name !== 'package' || !p.attributes['name']) continue;
      const a = p.attributes;
      const sum = child(p, 'sum');
      const reboot = flag(childText(p, 'reboot_suggested'));
      const restart = flag(childText(p, 'restart_suggested'));
      const relogin = flag(childText(p, 'relogin_suggested'));
      const filename = childText(p, 'filename')?.trim();
      // keys in sorted order, here and below: the catalog stores metadata as canonical JSON and
      // only has to copy objects whose keys are out of order
      packages.push({
        arch: a['arch'] ?? '',
        ...(short ? { collection: short } : {}),
        epoch: a['epoch']?.trim() || '0',
        ...(filename ? { filename } : {}),
        name: a['name']!,
        ...(reboot !== undefined ? { rebootSuggested: reboot } : {}),
        release: a['release'] ?? '',
        ...(relogin !== undefined ? { reloginSuggested: relogin } : {}),
        ...(restart !== undefined ? { restartSuggested: restart } : {}),
        ...(a['src'] ? { src: a['src'] } : {}),
        ...(sum && sum.text.trim() ? { sum: { type: digestAlgorithmOf(sum.attributes['type']) ?? sum.attributes['type'] ?? '', value: sum.text.trim().toLowerCase() } } : {}),
        version: a['version'] ?? '',
      });
    }
  }
  const date = (name: string) => child(element, name)?.attributes['date']?.trim() || undefined;
  const reboot = flag(childText(element, 'reboot_suggested'));
  return {
    collections,
    ...optional('description', childText(element, 'description')),
    ...optional('from', attrs['from']),
    id,
    ...optional('issued', date('issued')),
    line: element.line,
    packages,
    ...optional('pushcount', text('pushcount')),
    ...(reboot !== undefined ? { rebootSuggested: reboot } : {}),
    references,
    ...optional('release', text('release')),
    ...optional('rights', text('rights')),
    ...optional('severity', text('severity')),
    ...optional('solution', text('solution')),
    ...optional('status', attrs['status']),
    ...optional('summary', text('summary')),
    title: text('title') ?? id,
    type: attrs['type']?.trim() || 'unknown',
    ...optional('updated', date('updated')),
    ...optional('version', attrs['version']),
  };
}

/** A `<reboot_suggested>`-like flag: undefined when absent or empty. */
function flag(text: string | undefined): boolean | undefined {
  const value = text?.trim();
  if (!value) return undefined;
  return value === '1' || value.toLowerCase() === 'true';
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value !== undefined && value !== '' ? ({ [key]: value } as Partial<Record<K, string>>) : {};
}

function pick<K extends string>(attributes: Readonly<Record<string, string>>, keys: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const key of keys) if (attributes[key]) out[key] = attributes[key];
  return out;
}

/**
 * The metadata of an advisory's unit: everything but its id (the unit key) and line, with the unit
 * ids of the packages of this sync it links to, keys in sorted order.
 */
export function advisoryMetadata(advisory: Advisory, packageUnitIds: readonly string[]): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  for (const key of Object.keys(advisory)) {
    if (key === 'packages') metadata['packageUnitIds'] = packageUnitIds;
    if (key !== 'id' && key !== 'line') metadata[key] = advisory[key as keyof Advisory];
  }
  return metadata;
}
