import type { CliIo } from './cli-io.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * A one-line progress display for long work when stderr is a terminal: a spinner, elapsed time and
 * the latest counts. Redrawn at most ten times a second; silent when not a TTY.
 */
export class ProgressLine {
  private frame = 0;
  private text = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();
  private readonly enabled: boolean;

  constructor(private readonly io: CliIo, label: string) {
    this.enabled = Boolean(io.stderr.isTTY);
    this.text = label;
    if (this.enabled) {
      this.timer = setInterval(() => this.draw(), 100);
      this.timer.unref();
    }
  }

  update(text: string): void {
    this.text = text;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.enabled) this.io.stderr.write('\r\x1b[2K');
  }

  private draw(): void {
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    this.io.stderr.write(`\r\x1b[2K${FRAMES[this.frame++ % FRAMES.length]} ${seconds}s ${this.text}`.slice(0, 200));
  }
}
