import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';

/** One element of a record, as a small tree. Names are local names (`rpm:entry` → `entry`). */
export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** Character data directly inside the element (empty for elements with children). */
  text: string;
  readonly children: XmlElement[];
  /** 1-based line where the element starts. */
  readonly line: number;
}

/** What records to cut out of a metadata document. */
export interface XmlRecordSpec {
  /** What is read, for messages (`primary metadata repodata/…-primary.xml.gz`). */
  readonly source: string;
  /** Local name the root element must have (`metadata`, `updates`, `repomd`). */
  readonly root: string;
  /** Local names of the root's children that are records; other children are ignored. */
  readonly records: ReadonlySet<string>;
  /** Local names of elements inside records whose subtrees are not kept (file lists, …). */
  readonly skip?: ReadonlySet<string>;
  /** Most characters one record may hold; a larger one is TRIBUTARY_ERR_XML_INVALID. */
  readonly maxRecordChars?: number;
}

const DEFAULT_MAX_RECORD_CHARS = 64 * 1024 * 1024;

/**
 * Streams the records of an XML document (chunks of UTF-8 bytes in, one element tree per record
 * out), keeping only the record being read in memory.
 *
 * Safe by construction for untrusted metadata: the SAX parser (saxes) never fetches anything and
 * never expands entities other than XML's five and character references; a DOCTYPE (the only way
 * to declare entities, external or billion-laughs ones) is refused outright with
 * TRIBUTARY_ERR_XML_ENTITY, as is a reference to an undeclared entity. Malformed or truncated XML
 * is TRIBUTARY_ERR_XML_INVALID, bytes that are not UTF-8 TRIBUTARY_ERR_ENCODING_INVALID; both name
 * the line and column.
 */
export async function* readXmlRecords(chunks: AsyncIterable<Buffer>, spec: XmlRecordSpec): AsyncGenerator<XmlElement> {
  const parser = new SaxesParser({ xmlns: false, position: true });
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const maxRecordChars = spec.maxRecordChars ?? DEFAULT_MAX_RECORD_CHARS;
  let failure: TributaryError | undefined;
  let ready: XmlElement[] = [];
  const stack: XmlElement[] = [];
  let depth = 0;
  let skipDepth = 0;
  let recordChars = 0;
  let rootClosed = false;

  const where = () => ({ line: parser.line, column: parser.column + 1 });
  const fail = (code: typeof ErrorCodes.XML_INVALID | typeof ErrorCodes.XML_ENTITY | typeof ErrorCodes.ENCODING_INVALID, message: string) => {
    if (failure) return;
    const { line, column } = where();
    failure = new TributaryError(code, `${spec.source}, line ${line} column ${column}: ${message}`, { details: { source: spec.source, line, column } });
  };

  parser.on('xmldecl', (decl) => {
    if (decl.encoding && !/^utf-?8$/i.test(decl.encoding)) fail(ErrorCodes.ENCODING_INVALID, `declares encoding ${decl.encoding}; repository metadata must be UTF-8`);
  });
  parser.on('doctype', () => {
    fail(ErrorCodes.XML_ENTITY, 'a DOCTYPE is refused in repository metadata: it could declare external or recursively expanding entities, which are never resolved');
  });
  parser.on('opentag', (tag: SaxesTagPlain) => {
    depth++;
    if (skipDepth) return;
    const name = localName(tag.name);
    if (depth === 1) {
      if (name !== spec.root) fail(ErrorCodes.XML_INVALID, `the root element is <${tag.name}>, expected <${spec.root}>`);
      return;
    }
    if (stack.length === 0) {
      if (depth === 2 && spec.records.has(name)) {
        recordChars = 0;
        stack.push({ name, attributes: tag.attributes as Record<string, string>, text: '', children: [], line: parser.line });
      }
      return;
    }
    if (spec.skip?.has(name)) {
      skipDepth = depth;
      return;
    }
    const element: XmlElement = { name, attributes: tag.attributes as Record<string, string>, text: '', children: [], line: parser.line };
    stack[stack.length - 1]!.children.push(element);
    stack.push(element);
  });
  parser.on('closetag', () => {
    if (skipDepth) {
      if (depth === skipDepth) skipDepth = 0;
    } else if (stack.length > 0) {
      const element = stack.pop()!;
      if (element.children.length > 0) element.text = '';
      if (stack.length === 0) ready.push(element);
    }
    depth--;
    if (depth === 0) rootClosed = true;
  });
  const onText = (text: string) => {
    if (stack.length === 0 || skipDepth) return;
    recordChars += text.length;
    if (recordChars > maxRecordChars) {
      fail(ErrorCodes.XML_INVALID, `a <${stack[0]!.name}> record holds more than ${maxRecordChars} characters`);
      return;
    }
    stack[stack.length - 1]!.text += text;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('error', (error: Error) => {
    const message = error.message.replace(/^[^:]*:\d+:\d+: /, '');
    fail(/undefined entity/i.test(message) ? ErrorCodes.XML_ENTITY : ErrorCodes.XML_INVALID, /undefined entity/i.test(message) ? `${message} Only XML's predefined entities are accepted; none is ever resolved or expanded` : message);
  });

  const feed = (text: string) => {
    if (failure) throw failure;
    parser.write(text);
    if (failure) throw failure;
  };
  for await (const chunk of chunks) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      fail(ErrorCodes.ENCODING_INVALID, 'the bytes that follow are not valid UTF-8');
      throw failure!;
    }
    feed(text);
    if (ready.length > 0) {
      const records = ready;
      ready = [];
      yield* records;
    }
  }
  try {
    feed(decoder.decode());
  } catch (error) {
    if (failure) throw failure;
    fail(ErrorCodes.ENCODING_INVALID, 'the document ends inside a UTF-8 sequence');
    throw failure ?? error;
  }
  parser.close();
  if (failure) throw failure;
  if (!rootClosed) {
    fail(ErrorCodes.XML_INVALID, `the document ends before its root element <${spec.root}> is closed (truncated?)`);
    throw failure!;
  }
  yield* ready;
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

/** The first child with local name `name`. */
export function child(element: XmlElement, name: string): XmlElement | undefined {
  for (const c of element.children) if (c.name === name) return c;
  return undefined;
}

/** The text of the first child named `name`, if any. */
export function childText(element: XmlElement, name: string): string | undefined {
  return child(element, name)?.text;
}
