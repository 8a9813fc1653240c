import { createHash } from 'node:crypto';
import { ErrorCodes, TributaryError, type DigestAlgorithm, type Digests } from '@tributary/plugin-api';
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
  /** repomd.xml's `open-checksum`s (of the decompressed file), when it gives any. */
  readonly openDigests?: Digests;
}

export interface ReadMetadataOptions {
  /** Hard cap on decompressed bytes. */
  readonly maxBytes: number;
  readonly signal?: AbortSignal;
  /** Hears of what is wrong with the file but does not stop reading it (a wrong `packages` count). */
  readonly onWarning?: (message: string) => void;
}

/**
 * The records of a metadata file, streamed: compression detected from its bytes and name,
 * decompression bounded by `open-size` and `maxBytes`, XML read safely (see `readXmlRecords`),
 * and the whole checked against `open-checksum` (see {@link openMetadata}).
 */
export async function* readMetadataRecords(
  file: MetadataFile,
  spec: Omit<XmlRecordSpec, 'source'>,
  options: ReadMetadataOptions,
): AsyncGenerator<XmlElement> {
  const source = `${file.type} metadata ${file.href}`;
  const content = await openMetadata(file, source, options);
  yield* readXmlRecords(content.chunks, { ...spec, source });
  content.verify();
}

/** A metadata file's decompressed bytes, and the check of what they were against repomd.xml. */
export interface MetadataContent {
  readonly chunks: AsyncGenerator<Buffer>;
  /**
   * Throws TRIBUTARY_ERR_DIGEST_MISMATCH naming the file when the bytes read differ from an
   * `open-checksum` repomd.xml gives. Called once the document was read to its end, so that a
   * document that is broken anyway gets its XML error, which names the line.
   */
  verify(): void;
}

/** The decompressed bytes of a metadata file (compression detected, size bounded, digests taken); `source` names it in errors. */
export async function openMetadata(file: MetadataFile, source: string, options: ReadMetadataOptions): Promise<MetadataContent> {
  const compression = await detectCompression(file.path, file.href);
  const chunks = readDecompressed(file.path, {
    source,
    compression,
    maxBytes: options.maxBytes,
    ...(file.openSize !== undefined ? { expectedSize: file.openSize } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const expected = Object.entries(file.openDigests ?? {}) as [DigestAlgorithm, string][];
  if (expected.length === 0) return { chunks, verify: () => undefined };
  const digests = expected.map(([algorithm, hex]) => ({ algorithm, hex, hash: createHash(algorithm) }));
  let complete = false;
  async function* digested(): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      for (const { hash } of digests) hash.update(chunk);
      yield chunk;
    }
    complete = true;
  }
  return {
    chunks: digested(),
    verify() {
      if (!complete) return;
      for (const { algorithm, hex, hash } of digests) {
        const actual = hash.digest('hex');
        if (actual !== hex) {
          throw new TributaryError(
            ErrorCodes.DIGEST_MISMATCH,
            `${source}: its decompressed content has ${algorithm} ${actual}, but repomd.xml's open-checksum says ${hex}`,
            { details: { source, algorithm, expected: hex, actual } },
          );
        }
      }
    },
  };
}
