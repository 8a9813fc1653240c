/** Whether `c` is a character XML counts as white space (space, tab, CR, LF). */
export function isXmlSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

/** Whether `c` may start an element or attribute name (ASCII letters, `_`, `:`, or beyond Latin-1). */
export function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58 || c >= 0xc0;
}

/**
 * Element names seen recently, by a hash of their length and first and last characters. A document
 * repeats a few dozen names millions of times: a name found here is reused rather than cut out of
 * the text again.
 */
export class RecentNames {
  private readonly slots: (string | undefined)[] = new Array<string | undefined>(128).fill(undefined);

  /** The name at `text[start..end)`. */
  nameAt(text: string, start: number, end: number): string {
    const length = end - start;
    const slot = (length * 31 + text.charCodeAt(start) * 7 + text.charCodeAt(end - 1)) & 127;
    const cached = this.slots[slot];
    if (cached !== undefined && cached.length === length && text.startsWith(cached, start)) return cached;
    // a slice of 13 characters or more is a view keeping all of `text` alive: keep a copy instead
    const name = length < 13 ? text.slice(start, end) : ` ${text.slice(start, end)}`.slice(1);
    this.slots[slot] = name;
    return name;
  }
}
