import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import type { StrictXmlTokenizer } from './strict-xml-tokenizer.js';
import type { XmlAttributes } from './xml-attributes.js';
import { readXmlDocument, type XmlResultCollector } from './xml-document-reader.js';

/** One element of a record, as a small tree. Names are local names (`rpm:entry` → `entry`). */
export interface XmlElement {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** Character data directly inside the element (empty for elements with children). */
  text: string;
  readonly children: XmlElement[];
  /** 1-based line where the element starts (records only; 0 inside them). */
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
 * out), keeping only the record being read in memory. The XML is read by
 * {@link StrictXmlTokenizer}: no DOCTYPE, no entity other than XML's predefined ones, strict
 * well-formedness with line and column in every error; bytes that are not UTF-8 are
 * TRIBUTARY_ERR_ENCODING_INVALID.
 */
export async function* readXmlRecords(chunks: AsyncIterable<Buffer>, spec: XmlRecordSpec): AsyncGenerator<XmlElement> {
  for await (const records of readXmlDocument(chunks, spec.source, new RecordBuilder(spec))) yield* records;
}

/** Builds record trees from tokens; everything outside records is dropped as it streams by. */
class RecordBuilder implements XmlResultCollector<XmlElement> {
  tokenizer!: StrictXmlTokenizer;
  private ready: XmlElement[] = [];
  private readonly stack: XmlElement[] = [];
  private depth = 0;
  private skipDepth = 0;
  private recordChars = 0;
  private readonly maxRecordChars: number;

  constructor(private readonly spec: XmlRecordSpec) {
    this.maxRecordChars = spec.maxRecordChars ?? DEFAULT_MAX_RECORD_CHARS;
  }

  take(): XmlElement[] | undefined {
    if (this.ready.length === 0) return undefined;
    const ready = this.ready;
    this.ready = [];
    return ready;
  }

  /** Text is kept only directly inside record elements that have no children. */
  get wantsText(): boolean {
    const stack = this.stack;
    return stack.length > 0 && this.skipDepth === 0 && stack[stack.length - 1]!.children.length === 0;
  }

  openTag(qualifiedName: string, attributes: XmlAttributes): void {
    this.depth++;
    if (this.skipDepth) return;
    const name = localName(qualifiedName);
    const stack = this.stack;
    if (this.depth === 1) {
      if (name !== this.spec.root) this.fail(`the root element is <${qualifiedName}>, expected <${this.spec.root}>`);
      return;
    }
    if (stack.length === 0) {
      if (this.depth === 2 && this.spec.records.has(name)) {
        this.recordChars = 0;
        stack.push({ name, attributes: attributes.toRecord(), text: '', children: [], line: this.tokenizer.currentLine() });
      }
      return;
    }
    if (this.spec.skip?.has(name)) {
      this.skipDepth = this.depth;
      return;
    }
    const element: XmlElement = { name, attributes: attributes.toRecord(), text: '', children: [], line: 0 };
    stack[stack.length - 1]!.children.push(element);
    stack.push(element);
  }

  closeTag(): void {
    if (this.skipDepth) {
      if (this.depth === this.skipDepth) this.skipDepth = 0;
    } else if (this.stack.length > 0) {
      const element = this.stack.pop()!;
      if (element.children.length > 0) element.text = '';
      if (this.stack.length === 0) this.ready.push(element);
    }
    this.depth--;
  }

  text(text: string): void {
    const stack = this.stack;
    if (stack.length === 0 || this.skipDepth) return;
    const top = stack[stack.length - 1]!;
    // an element with children keeps no text (see closeTag): do not build what will be dropped
    if (top.children.length > 0) return;
    this.recordChars += text.length;
    if (this.recordChars > this.maxRecordChars) this.fail(`a <${stack[0]!.name}> record holds more than ${this.maxRecordChars} characters`);
    top.text += text;
  }

  private fail(message: string): never {
    const line = this.tokenizer.currentLine();
    throw new TributaryError(ErrorCodes.XML_INVALID, `${this.spec.source}, line ${line}: ${message}`, { details: { source: this.spec.source, line } });
  }
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
