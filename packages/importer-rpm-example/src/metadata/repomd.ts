import { ErrorCodes, TributaryError, type DigestAlgorithm, type Digests } from '@tributary/plugin-api';
import { checkedChecksum, digestAlgorithmOf, strongestAlgorithm } from './checksum-type.js';
import { locationUrl, storedRelativePath } from './location.js';
import { child, childText, readXmlRecords, type XmlElement } from '../xml/xml-record-reader.js';

/** One `<data>` record of repomd.xml. */
export interface RepomdRecord {
  /** `primary`, `filelists`, `other`, `updateinfo`, `group`, `modules`, … (any string). */
  readonly type: string;
  /** The location href as repomd.xml writes it. */
  readonly href: string;
  /** `xml:base` of the location element, if any. */
  readonly xmlBase?: string;
  /** Where to download the file from. */
  readonly url: string;
  /** Safe path the file is stored and exported under (see `storedRelativePath`). */
  readonly relativePath: string;
  /** Every checksum of the compressed file that repomd.xml gives, by algorithm. */
  readonly digests: Digests;
  /** The strongest of `digests`: what names the unit. */
  readonly checksumType: DigestAlgorithm;
  readonly checksum: string;
  readonly openDigests: Digests;
  readonly size?: number;
  readonly openSize?: number;
  readonly timestamp?: number;
  /** 1-based line of the record in repomd.xml. */
  readonly line: number;
}

export interface Repomd {
  readonly revision?: string;
  readonly records: readonly RepomdRecord[];
}

/**
 * Parses repomd.xml (already downloaded; chunks of its bytes) into its records. Each record must
 * have a location href and at least one checksum of a supported type; sizes are optional.
 */
export async function parseRepomd(chunks: AsyncIterable<Buffer>, baseUrl: string): Promise<Repomd> {
  const source = 'repodata/repomd.xml';
  let revision: string | undefined;
  const records: RepomdRecord[] = [];
  for await (const element of readXmlRecords(chunks, { source, root: 'repomd', records: new Set(['revision', 'data']), maxRecordChars: 1024 * 1024 })) {
    if (element.name === 'revision') revision = element.text.trim();
    else records.push(recordOf(element, baseUrl, source));
  }
  return { ...(revision !== undefined ? { revision } : {}), records };
}

function recordOf(element: XmlElement, baseUrl: string, source: string): RepomdRecord {
  const type = element.attributes['type']?.trim();
  const where = `${source}, line ${element.line}`;
  const invalid = (message: string): never => {
    throw new TributaryError(ErrorCodes.XML_INVALID, `${where}: ${message}`, { details: { source, line: element.line, type } });
  };
  if (!type) return invalid('a <data> record has no type attribute');
  const location = child(element, 'location');
  const href = location?.attributes['href']?.trim();
  if (!href) return invalid(`the ${type} record has no <location href>`);
  const xmlBase = location?.attributes['xml:base']?.trim() || undefined;
  const digests = checksumsOf(element, 'checksum', `${where} (${type})`);
  const algorithm = strongestAlgorithm(Object.keys(digests) as DigestAlgorithm[]);
  if (!algorithm) return invalid(`the ${type} record has no <checksum> of a supported type`);
  return {
    type,
    href,
    ...(xmlBase ? { xmlBase } : {}),
    url: locationUrl(href, xmlBase, baseUrl, `${where} (${type})`),
    relativePath: storedRelativePath(href),
    digests,
    checksumType: algorithm,
    checksum: digests[algorithm]!,
    openDigests: checksumsOf(element, 'open-checksum', `${where} (${type})`),
    ...optionalInteger('size', 'size', childText(element, 'size'), invalid),
    ...optionalInteger('openSize', 'open-size', childText(element, 'open-size'), invalid),
    ...lenientTimestamp(childText(element, 'timestamp')),
    line: element.line,
  };
}

/** All `<name type="…">hex</name>` children; unknown types are ignored when a known one is there. */
function checksumsOf(element: XmlElement, name: string, where: string): Digests {
  const digests: Record<string, string> = {};
  const unknown: XmlElement[] = [];
  for (const c of element.children) {
    if (c.name !== name) continue;
    if (!digestAlgorithmOf(c.attributes['type'])) {
      unknown.push(c);
      continue;
    }
    const { algorithm, hex } = checkedChecksum(c.attributes['type'], c.text, where);
    if (digests[algorithm] !== undefined && digests[algorithm] !== hex) {
      throw new TributaryError(ErrorCodes.DIGEST_INVALID, `${where}: two different ${algorithm} values in <${name}>`, { details: { where } });
    }
    digests[algorithm] = hex;
  }
  // only unknown types: refuse (for the checksum that must be verified), naming the type
  if (name === 'checksum' && Object.keys(digests).length === 0 && unknown[0]) checkedChecksum(unknown[0].attributes['type'], unknown[0].text, where);
  return digests;
}

function optionalInteger<K extends string>(key: K, elementName: string, text: string | undefined, invalid: (message: string) => never): Partial<Record<K, number>> {
  if (text === undefined || text.trim() === '') return {};
  const value = Number(text.trim());
  if (!Number.isSafeInteger(value) || value < 0) invalid(`<${elementName}> is ${JSON.stringify(text.trim())}, not a non-negative integer`);
  return { [key]: value } as Partial<Record<K, number>>;
}

/** Timestamps are informative only; some generators write fractions, so any number is accepted. */
function lenientTimestamp(text: string | undefined): { timestamp?: number } {
  const value = Math.floor(Number(text?.trim()));
  return text !== undefined && Number.isSafeInteger(value) ? { timestamp: value } : {};
}
