/**
 * Line and column of positions in a document read through a window: `text` holds the document
 * from `base` on (and maybe some already consumed text before it); `advance` moves `base` forward,
 * `rebase` swaps in a new text that continues the window. Line breaks are counted forward from a
 * cursor, so each character is scanned once however often positions are asked about.
 */
export class LineCounter {
  private text = '';
  /** Where the window starts in `text`, and the line and column (0-based) there. */
  private base = 0;
  private lineAtBase = 1;
  private columnAtBase = 0;
  /** Lines up to `cursorPos` in `text`. */
  private cursorPos = 0;
  private cursorLine = 1;

  /** 1-based line at `pos` (at or after the window's start) in `text`. */
  lineAt(pos: number): number {
    if (pos < this.cursorPos) {
      this.cursorPos = this.base;
      this.cursorLine = this.lineAtBase;
    }
    let line = this.cursorLine;
    for (let nl = this.text.indexOf('\n', this.cursorPos); nl >= 0 && nl < pos; nl = this.text.indexOf('\n', nl + 1)) line++;
    this.cursorPos = pos;
    this.cursorLine = line;
    return line;
  }

  /** 1-based column at `pos` (at or after the window's start) in `text`. */
  columnAt(pos: number): number {
    const newline = pos > this.base ? this.text.lastIndexOf('\n', pos - 1) : -1;
    return newline >= this.base ? pos - newline : this.columnAtBase + (pos - this.base) + 1;
  }

  /** Moves the window's start to `to` in `text`. */
  advance(to: number): void {
    if (to <= this.base) return;
    const line = this.lineAt(to);
    const newline = this.text.lastIndexOf('\n', to - 1);
    this.columnAtBase = newline >= this.base ? to - newline - 1 : this.columnAtBase + (to - this.base);
    this.lineAtBase = line;
    this.base = to;
    this.cursorPos = to;
    this.cursorLine = line;
  }

  /** The window now starts at `base` in `text` (the same document position as before). */
  rebase(text: string, base: number): void {
    this.text = text;
    this.base = base;
    this.cursorPos = base;
    this.cursorLine = this.lineAtBase;
  }
}
