/**
 * Line and column of positions in a document read through a sliding window: `text` is the part
 * not consumed yet (the caller sets it whenever it appends to it), `advance` drops consumed text
 * from its start. Line breaks are counted forward from a cursor, so each character is scanned once
 * however often positions are asked about.
 */
export class LineCounter {
  /** The window: the document from the first character not consumed yet. */
  text = '';
  /** Line of `text[0]`, and characters of that line before it. */
  private linesBefore = 1;
  private columnBefore = 0;
  /** Lines up to `cursorPos` in `text`. */
  private cursorPos = 0;
  private cursorLine = 1;

  /** 1-based line at `pos` in `text`. */
  lineAt(pos: number): number {
    if (pos < this.cursorPos) {
      this.cursorPos = 0;
      this.cursorLine = this.linesBefore;
    }
    let line = this.cursorLine;
    for (let nl = this.text.indexOf('\n', this.cursorPos); nl >= 0 && nl < pos; nl = this.text.indexOf('\n', nl + 1)) line++;
    this.cursorPos = pos;
    this.cursorLine = line;
    return line;
  }

  /** 1-based column at `pos` in `text`. */
  columnAt(pos: number): number {
    const newline = pos > 0 ? this.text.lastIndexOf('\n', pos - 1) : -1;
    return newline >= 0 ? pos - newline : this.columnBefore + pos + 1;
  }

  /** Moves the window past its first `consumed` characters; the caller then sets `text` to the rest. */
  advance(consumed: number): void {
    if (consumed === 0) return;
    this.linesBefore = this.lineAt(consumed);
    const lastNewline = this.text.lastIndexOf('\n', consumed - 1);
    this.columnBefore = lastNewline >= 0 ? consumed - lastNewline - 1 : this.columnBefore + consumed;
    this.cursorPos = 0;
    this.cursorLine = this.linesBefore;
  }
}
