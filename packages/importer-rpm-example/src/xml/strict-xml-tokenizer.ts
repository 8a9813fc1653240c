import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import { XmlAttributes } from './xml-attributes.js';
import { LineCounter } from './line-counter.js';
import { isNameStart, isXmlSpace, RecentNames } from './xml-names.js';
import { decodeReferences } from './xml-references.js';

/** What the tokenizer reports. Names are as written (`rpm:entry`); text is entity-decoded. */
export interface XmlTokenHandler {
  /** `attributes` is only valid during the call (see {@link XmlAttributes}). */
  openTag(name: string, attributes: XmlAttributes, selfClosing: boolean): void;
  closeTag(name: string): void;
  /** Character data, possibly in several pieces (a run cut by a chunk boundary, CDATA). */
  text(text: string): void;
  /**
   * False while the handler would drop text anyway (whitespace between elements, elements it does
   * not keep): the tokenizer then still checks the text but builds no string. Absent means true.
   */
  readonly wantsText?: boolean;
}

type XmlErrorCode = typeof ErrorCodes.XML_INVALID | typeof ErrorCodes.XML_ENTITY | typeof ErrorCodes.ENCODING_INVALID;

const LESS_THAN = 60; // <
const GT = 62; // >
const EQUALS = 61;
const SLASH = 47;
const QUESTION = 63;
const BANG = 33;
const QUOTE = 34;
const APOSTROPHE = 39;

/** How much of a new chunk is joined to the unfinished token of the last one to finish it (see `write`). */
const BRIDGE = 4096;


/**
 * A strict, streaming, non-validating XML tokenizer for repository metadata, written for speed
 * (primary.xml of a large repository is hundreds of MB) and for safety:
 *
 * - a DOCTYPE is refused (TRIBUTARY_ERR_XML_ENTITY): it is the only way to declare entities, so
 *   nothing external is ever fetched and nothing expands (no billion laughs);
 * - only XML's five predefined entities and character references are decoded; any other reference
 *   is TRIBUTARY_ERR_XML_ENTITY;
 * - well-formedness that matters is checked (TRIBUTARY_ERR_XML_INVALID with line and column):
 *   matching end tags, quoted and unique attributes, no `<` in attribute values, one root element,
 *   no text outside it, nothing left open at the end (a truncated document);
 * - an XML declaration naming an encoding other than UTF-8 is TRIBUTARY_ERR_ENCODING_INVALID.
 *
 * Feed it decoded text in chunks of any size with `write`, then call `end`. Memory is the
 * unfinished tail of the last chunk (one tag or text run), never the document.
 */
export class StrictXmlTokenizer {
  /** The text being read; what is not consumed yet starts at `offset`. */
  private buffer = '';
  private offset = 0;
  private readonly stack: string[] = [];
  private seenRoot = false;
  private rootClosed = false;
  private atStart = true;
  /** Lines and columns in `buffer` (its window kept at `offset`). */
  private readonly lines = new LineCounter();
  /** Where in `buffer` the token being handled starts (for positions in errors). */
  private tokenStart = 0;
  /** Where the next '&' at or after the last position asked about is (see `referenceAfter`). */
  private nextReference = -1;
  private readonly attributes = new XmlAttributes();
  private readonly names = new RecentNames();

  constructor(
    private readonly source: string,
    private readonly handler: XmlTokenHandler,
  ) {}

  /** Elements currently open (depth). */
  get depth(): number {
    return this.stack.length;
  }

  /** 1-based line of the token being handled (call from a handler). */
  currentLine(): number {
    return this.lines.lineAt(this.tokenStart);
  }

  write(chunk: string): void {
    const pending = this.buffer.length - this.offset;
    if (pending === 0) {
      this.replaceBuffer(chunk, 0);
    } else if (chunk.length <= BRIDGE) {
      this.replaceBuffer(this.buffer.slice(this.offset) + chunk, 0);
    } else {
      // Finish the token the chunk boundary cut on a short join, then go on in the chunk itself,
      // which is read in place: joined to the tail it would be copied once more, and a string cut
      // out of it is slower to read character by character than the flat string itself.
      this.replaceBuffer(this.buffer.slice(this.offset) + chunk.slice(0, BRIDGE), 0);
      const consumed = this.consume(false);
      this.advance(consumed);
      if (consumed > pending) this.replaceBuffer(chunk, consumed - pending);
      else this.replaceBuffer(this.buffer.slice(consumed) + chunk.slice(BRIDGE), 0); // a token longer than the bridge (rare)
    }
    this.advance(this.consume(false));
  }

  end(): void {
    this.advance(this.consume(true));
    if (this.buffer.slice(this.offset).trim().length > 0) this.fail(ErrorCodes.XML_INVALID, 'the document ends inside a tag, comment or reference (truncated?)', this.offset);
    if (this.stack.length > 0) this.fail(ErrorCodes.XML_INVALID, `the document ends inside <${this.stack[this.stack.length - 1]}> (truncated?)`, this.buffer.length);
    if (!this.seenRoot) this.fail(ErrorCodes.XML_INVALID, 'the document has no root element', this.offset);
  }

  /** Handles every complete token in `buffer` from `offset` on; returns where the first incomplete one starts. */
  private consume(final: boolean): number {
    const buffer = this.buffer;
    const length = buffer.length;
    let i = this.offset;
    this.nextReference = -1;
    while (i < length) {
      const lt = buffer.indexOf('<', i);
      if (lt !== i) {
        // a text run up to the next tag; held back at the end of a chunk until complete
        const end = lt < 0 ? length : lt;
        if (lt < 0 && !final) {
          const amp = buffer.lastIndexOf('&');
          const safeEnd = amp >= i && buffer.indexOf(';', amp) < 0 ? amp : end;
          if (safeEnd > i) this.textRun(buffer, i, safeEnd);
          return safeEnd;
        }
        this.textRun(buffer, i, end);
        if (lt < 0) return end;
        i = lt;
      }
      this.tokenStart = i;
      const next = buffer.charCodeAt(i + 1);
      let after: number;
      if (Number.isNaN(next)) after = -1;
      else if (next === SLASH) after = this.endTag(buffer, i);
      else if (next === QUESTION) after = this.processingInstruction(buffer, i);
      else if (next === BANG) after = this.markup(buffer, i);
      else after = this.startTag(buffer, i);
      if (after < 0) return i; // incomplete: wait for more input
      i = after;
      this.atStart = false;
    }
    return i;
  }

  private textRun(buffer: string, start: number, end: number): void {
    this.tokenStart = start;
    if (this.stack.length === 0) {
      for (let k = start; k < end; k++) {
        if (!isXmlSpace(buffer.charCodeAt(k))) {
          this.fail(ErrorCodes.XML_INVALID, `text outside the root element: ${JSON.stringify(buffer.slice(start, end).trim().slice(0, 40))}`, start);
        }
      }
      return;
    }
    const hasReference = this.referenceAfter(buffer, start) < end;
    if (this.handler.wantsText === false) {
      // unwanted text is still checked: a bad reference is refused wherever it is
      if (hasReference) this.decode(buffer.slice(start, end), start);
      return;
    }
    const text = buffer.slice(start, end);
    this.handler.text(hasReference ? this.decode(text, start) : text);
  }

  /**
   * Position of the first '&' at or after `from` (the buffer's length when there is none). Positions
   * asked about only grow while a buffer is consumed, so each character is scanned once, however
   * many values and text runs are checked; `indexOf` on each would rescan to the next '&' every time.
   */
  private referenceAfter(buffer: string, from: number): number {
    if (this.nextReference < from) {
      const at = buffer.indexOf('&', from);
      this.nextReference = at < 0 ? buffer.length : at;
    }
    return this.nextReference;
  }

  private startTag(buffer: string, start: number): number {
    const length = buffer.length;
    let i = start + 1;
    while (i < length) {
      const c = buffer.charCodeAt(i);
      if (c === GT || c === SLASH || c <= 32) break;
      i++;
    }
    if (i >= length) return -1;
    const nameEnd = i;
    if (!isNameStart(buffer.charCodeAt(start + 1))) this.fail(ErrorCodes.XML_INVALID, `'<' not followed by a valid element name`, start);
    const attributes = this.attributes;
    attributes.reset(buffer);
    for (;;) {
      while (i < length && buffer.charCodeAt(i) <= 32) i++;
      if (i >= length) return -1;
      const c = buffer.charCodeAt(i);
      if (c === GT || c === SLASH) {
        const selfClosing = c === SLASH;
        if (selfClosing) {
          if (i + 1 >= length) return -1;
          if (buffer.charCodeAt(i + 1) !== GT) this.fail(ErrorCodes.XML_INVALID, `'/' not followed by '>' in <${buffer.slice(start + 1, nameEnd)}>`, i);
          i++;
        }
        this.open(this.names.nameAt(buffer, start + 1, nameEnd), attributes, selfClosing, start);
        return i + 1;
      }
      let eq = i;
      while (eq < length) {
        const d = buffer.charCodeAt(eq);
        if (d === EQUALS || d <= 32 || d === GT || d === SLASH || d === QUOTE || d === APOSTROPHE || d === LESS_THAN) break;
        eq++;
      }
      const attributeEnd = eq;
      while (eq < length && buffer.charCodeAt(eq) <= 32) eq++;
      if (eq >= length) return length - i > 4096 ? this.fail(ErrorCodes.XML_INVALID, `malformed attributes in <${buffer.slice(start + 1, nameEnd)}>`, i) : -1;
      if (buffer.charCodeAt(eq) !== EQUALS || attributeEnd === i || !isNameStart(buffer.charCodeAt(i))) {
        this.fail(ErrorCodes.XML_INVALID, `malformed attribute in <${buffer.slice(start + 1, nameEnd)}>`, i);
      }
      let q = eq + 1;
      while (q < length && buffer.charCodeAt(q) <= 32) q++;
      if (q >= length) return -1;
      const quote = buffer.charCodeAt(q);
      if (quote !== QUOTE && quote !== APOSTROPHE) this.fail(ErrorCodes.XML_INVALID, `attribute ${buffer.slice(i, attributeEnd)} of <${buffer.slice(start + 1, nameEnd)}> has an unquoted value`, q);
      const close = buffer.indexOf(quote === QUOTE ? '"' : "'", q + 1);
      if (close < 0) return -1;
      const lt = buffer.indexOf('<', q + 1);
      if (lt >= 0 && lt < close) this.fail(ErrorCodes.XML_INVALID, `'<' in the value of attribute ${buffer.slice(i, attributeEnd)} of <${buffer.slice(start + 1, nameEnd)}>`, q);
      const decoded = this.referenceAfter(buffer, q + 1) < close ? this.decode(buffer.slice(q + 1, close), q + 1) : undefined;
      if (!attributes.add(i, attributeEnd, q + 1, close, decoded)) this.fail(ErrorCodes.XML_INVALID, `attribute ${buffer.slice(i, attributeEnd)} appears twice in <${buffer.slice(start + 1, nameEnd)}>`, i);
      i = close + 1;
      const after = buffer.charCodeAt(i);
      if (i < length && after > 32 && after !== GT && after !== SLASH) this.fail(ErrorCodes.XML_INVALID, `no space between attributes in <${buffer.slice(start + 1, nameEnd)}>`, i);
    }
  }

  private open(name: string, attributes: XmlAttributes, selfClosing: boolean, at: number): void {
    if (this.stack.length === 0) {
      if (this.rootClosed) this.fail(ErrorCodes.XML_INVALID, `a second root element <${name}>`, at);
      this.seenRoot = true;
    }
    this.stack.push(name);
    this.handler.openTag(name, attributes, selfClosing);
    if (selfClosing) this.close(name);
  }

  private close(name: string): void {
    this.stack.pop();
    if (this.stack.length === 0) this.rootClosed = true;
    this.handler.closeTag(name);
  }

  private endTag(buffer: string, start: number): number {
    const gt = buffer.indexOf('>', start);
    if (gt < 0) return -1;
    let nameEnd = gt;
    while (nameEnd > start + 2 && isXmlSpace(buffer.charCodeAt(nameEnd - 1))) nameEnd--;
    const open = this.stack[this.stack.length - 1];
    if (open === undefined) this.fail(ErrorCodes.XML_INVALID, `closing tag </${buffer.slice(start + 2, nameEnd)}> with no element open`, start);
    // compared in place: no string per end tag
    if (nameEnd - start - 2 !== open.length || !buffer.startsWith(open, start + 2)) {
      this.fail(ErrorCodes.XML_INVALID, `closing tag </${buffer.slice(start + 2, nameEnd)}> does not match <${open}>`, start);
    }
    this.close(open);
    return gt + 1;
  }

  private processingInstruction(buffer: string, start: number): number {
    const end = buffer.indexOf('?>', start);
    if (end < 0) return -1;
    const body = buffer.slice(start + 2, end);
    if (/^xml\s/i.test(body)) {
      if (!this.atStart) this.fail(ErrorCodes.XML_INVALID, 'the XML declaration is not at the start of the document', start);
      const encoding = /encoding\s*=\s*["']([^"']*)["']/.exec(body)?.[1];
      if (encoding && !/^utf-?8$/i.test(encoding)) this.fail(ErrorCodes.ENCODING_INVALID, `the document declares encoding ${encoding}; repository metadata must be UTF-8`, start);
    }
    return end + 2;
  }

  private markup(buffer: string, start: number): number {
    if (buffer.startsWith('<!--', start)) {
      const end = buffer.indexOf('-->', start + 4);
      return end < 0 ? -1 : end + 3;
    }
    if (buffer.startsWith('<![CDATA[', start)) {
      const end = buffer.indexOf(']]>', start + 9);
      if (end < 0) return -1;
      if (this.stack.length === 0) this.fail(ErrorCodes.XML_INVALID, 'CDATA outside the root element', start);
      if (this.handler.wantsText !== false) this.handler.text(buffer.slice(start + 9, end));
      return end + 3;
    }
    if (buffer.length - start < 9) return -1;
    if (buffer.slice(start, start + 9).toUpperCase() === '<!DOCTYPE') {
      this.fail(ErrorCodes.XML_ENTITY, 'a DOCTYPE is refused in repository metadata: it could declare external or recursively expanding entities, which are never resolved', start);
    }
    return this.fail(ErrorCodes.XML_INVALID, `unexpected markup ${JSON.stringify(buffer.slice(start, start + 12))}`, start);
  }

  /** Decodes predefined entities and character references; refuses every other reference. */
  private decode(text: string, offset: number): string {
    return decodeReferences(text, (code, message, at) => this.fail(code, message, offset + at));
  }

  /** Marks everything before `to` consumed. */
  private advance(to: number): void {
    this.lines.advance(to);
    this.offset = to;
  }

  /** Reads on in `text` from `offset`, which continues the document where the last buffer stopped. */
  private replaceBuffer(text: string, offset: number): void {
    this.buffer = text;
    this.offset = offset;
    this.lines.rebase(text, offset);
  }

  private fail(code: XmlErrorCode, message: string, pos: number): never {
    const line = this.lines.lineAt(pos);
    const column = this.lines.columnAt(pos);
    throw new TributaryError(code, `${this.source}, line ${line} column ${column}: ${message}`, { details: { source: this.source, line, column } });
  }
}
