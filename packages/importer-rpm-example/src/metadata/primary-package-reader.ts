import { openMetadata, type MetadataFile, type ReadMetadataOptions } from './metadata-file.js';
import { PrimaryPackageCollector } from './primary-package-collector.js';
import type { PrimaryPackage } from './primary-package.js';
import { readXmlDocument } from '../xml/xml-document-reader.js';

/**
 * The packages of a primary.xml file, streamed: decompressed as {@link readMetadataRecords} says
 * (compression detected, size bounded, open-checksum verified at the end), then read by
 * {@link readPrimaryXml}.
 */
export async function* readPrimaryPackages(file: MetadataFile, options: ReadMetadataOptions): AsyncGenerator<PrimaryPackage[]> {
  const source = `${file.type} metadata ${file.href}`;
  const content = await openMetadata(file, source, options);
  yield* readPrimaryXml(content.chunks, source, options.onWarning);
  content.verify();
}

/**
 * The packages of a primary.xml document (chunks of its UTF-8 bytes), in batches: those finished
 * by each chunk. The XML is read strictly (see {@link readXmlDocument}); `source` names it in errors.
 *
 * Name, arch, version/release, checksum and location are required (TRIBUTARY_ERR_XML_INVALID naming
 * the package's line otherwise; an unsupported checksum is TRIBUTARY_ERR_DIGEST_INVALID); everything
 * else defaults to empty. Of several elements of one kind, the first counts; an element holding
 * other elements has no text. A root `packages` count that disagrees with the packages read goes
 * to `onWarning`.
 */
export function readPrimaryXml(chunks: AsyncIterable<Buffer>, source: string, onWarning?: (message: string) => void): AsyncGenerator<PrimaryPackage[]> {
  return readXmlDocument(chunks, source, new PrimaryPackageCollector(source, onWarning));
}
