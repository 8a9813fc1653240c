import { detectCompression, readDecompressed } from '../compression/metadata-compression.js';
import { readXmlRecords, type XmlElement, type XmlRecordSpec } from '../xml/xml-record-reader.js';

export interface MetadataFile {
  /** Local path of the downloaded (already checksum-verified) file. */
  readonly path: string;
  /** Its href in repomd.xml: names it in messages and is cross-checked against its compression. */
  readonly href: string;
  /** Record type (`primary`, `updateinfo`), for messages. */
  readonly type: string;
  /** repomd.xml's `open-size`, when it declares one. */
  readonly openSize?: number;
}

export interface ReadMetadataOptions {
  /** Hard cap on decompressed bytes. */
  readonly maxBytes: number;
  readonly signal?: AbortSignal;
}

/**
 * The records of a metadata file, streamed: compression detected from its bytes and name,
 * decompression bounded by `open-size` and `maxBytes`, XML read safely (see `readXmlRecords`).
 */
export async function* readMetadataRecords(
  file: MetadataFile,
  spec: Omit<XmlRecordSpec, 'source'>,
  options: ReadMetadataOptions,
): AsyncGenerator<XmlElement> {
  const source = `${file.type} metadata ${file.href}`;
  yield* readXmlRecords(await decompressedChunks(file, source, options), { ...spec, source });
}

/** The decompressed bytes of a metadata file (compression detected, size bounded); `source` names it in errors. */
export async function decompressedChunks(file: MetadataFile, source: string, options: ReadMetadataOptions): Promise<AsyncGenerator<Buffer>> {
  const compression = await detectCompression(file.path, file.href);
  return readDecompressed(file.path, {
    source,
    compression,
    maxBytes: options.maxBytes,
    ...(file.openSize !== undefined ? { expectedSize: file.openSize } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
