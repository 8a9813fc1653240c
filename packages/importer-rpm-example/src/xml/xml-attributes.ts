/**
 * The attributes of the start tag the tokenizer is reporting, read in place: a value becomes a
 * string only when a handler asks for it. A `<rpm:entry name flags epoch ver rel/>` of primary.xml
 * has five attributes of which the importer keeps one, and primary has millions of them.
 *
 * Valid only during the `openTag` call it is passed to: the tokenizer reuses it for the next tag.
 * Keep values (`get`, `value`), never the object; `toRecord()` makes a lasting copy.
 */
export class XmlAttributes {
  /** The text the spans point into. */
  private source = '';
  /** Per attribute: name start, name end, value start, value end (in `source`). */
  private spans: number[] = [];
  /** Per attribute: the decoded value when the raw one holds references, else undefined. */
  private decoded: (string | undefined)[] = [];
  private size = 0;

  /** How many attributes the tag has. */
  get count(): number {
    return this.size;
  }

  /** The name of attribute `i`, as written (`xml:base`). */
  name(i: number): string {
    return this.source.slice(this.spans[4 * i]!, this.spans[4 * i + 1]!);
  }

  /** The entity-decoded value of attribute `i`. */
  value(i: number): string {
    return this.decoded[i] ?? this.source.slice(this.spans[4 * i + 2]!, this.spans[4 * i + 3]!);
  }

  /** The entity-decoded value of the attribute called `name`, if the tag has one. */
  get(name: string): string | undefined {
    const spans = this.spans;
    for (let i = 0; i < this.size; i++) {
      const start = spans[4 * i]!;
      if (spans[4 * i + 1]! - start === name.length && this.source.startsWith(name, start)) return this.value(i);
    }
    return undefined;
  }

  /** A lasting copy: name → value. */
  toRecord(): Record<string, string> {
    const record: Record<string, string> = {};
    for (let i = 0; i < this.size; i++) record[this.name(i)] = this.value(i);
    return record;
  }

  /** @internal Starts a new tag's attributes in `source`. */
  reset(source: string): void {
    this.source = source;
    this.size = 0;
  }

  /**
   * @internal Adds an attribute by its spans; `decoded` is its value when the raw one had
   * references. Returns false, adding nothing, when the tag already has an attribute of that name.
   */
  add(nameStart: number, nameEnd: number, valueStart: number, valueEnd: number, decoded: string | undefined): boolean {
    const spans = this.spans;
    const source = this.source;
    const length = nameEnd - nameStart;
    for (let i = 0; i < this.size; i++) {
      const start = spans[4 * i]!;
      if (spans[4 * i + 1]! - start === length && sameChars(source, start, nameStart, length)) return false;
    }
    const at = 4 * this.size;
    spans[at] = nameStart;
    spans[at + 1] = nameEnd;
    spans[at + 2] = valueStart;
    spans[at + 3] = valueEnd;
    this.decoded[this.size] = decoded;
    this.size++;
    return true;
  }
}

function sameChars(text: string, a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (text.charCodeAt(a + k) !== text.charCodeAt(b + k)) return false;
  return true;
}
