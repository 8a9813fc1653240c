import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import { StrictXmlTokenizer, type XmlTokenHandler } from './strict-xml-tokenizer.js';
import { Utf8ChunkDecoder } from './utf8-chunk-decoder.js';

/** A token handler that builds results (records, packages) as the document streams by. */
export interface XmlResultCollector<T> extends XmlTokenHandler {
  /** Set before the first token, so the collector can ask for line numbers. */
  tokenizer: StrictXmlTokenizer;
  /** The results finished since the last call. */
  take(): T[] | undefined;
}

/**
 * Streams an XML document (chunks of UTF-8 bytes in) through {@link StrictXmlTokenizer} into
 * `collector`, and yields what it finished after each chunk: one batch per chunk, so consumers pay
 * for an asynchronous step per chunk, not per result. Only the unfinished tail of the document and
 * what the collector holds are in memory. Bytes that are not UTF-8 are TRIBUTARY_ERR_ENCODING_INVALID.
 */
export async function* readXmlDocument<T>(chunks: AsyncIterable<Buffer>, source: string, collector: XmlResultCollector<T>): AsyncGenerator<T[]> {
  const decoder = new Utf8ChunkDecoder();
  const tokenizer = new StrictXmlTokenizer(source, collector);
  collector.tokenizer = tokenizer;
  const decode = (chunk?: Buffer): string => {
    try {
      if (chunk) return decoder.decode(chunk);
      decoder.end();
      return '';
    } catch {
      throw new TributaryError(ErrorCodes.ENCODING_INVALID, `${source}: the bytes after line ${tokenizer.currentLine()} are not valid UTF-8`, {
        details: { source, line: tokenizer.currentLine() },
      });
    }
  };
  for await (const chunk of chunks) {
    tokenizer.write(decode(chunk));
    const results = collector.take();
    if (results) yield results;
  }
  tokenizer.write(decode());
  tokenizer.end();
  const results = collector.take();
  if (results) yield results;
}
