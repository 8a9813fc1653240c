import type { SyncProgress } from '../sync/sync-service.js';
import { formatBytes, formatCount, type GuardedIo } from './cli-io.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Seconds between progress lines off a terminal, unless TRIBUTARY_PROGRESS_SECONDS says otherwise. */
export const DEFAULT_PROGRESS_SECONDS = 5;

export type ProgressMode = 'tty' | 'lines' | 'json' | 'off';

/**
 * How a sync shows its progress on stderr: a status line redrawn ten times a second on a terminal,
 * otherwise a line (a JSON line with --json) every few seconds, so the log of a scheduled sync says
 * how it goes. Totals, percentages and an ETA appear where they are known: the importer's index
 * (bytes read of its size) and the artifacts to download once every unit is listed.
 */
export class SyncProgressDisplay {
  private frame = 0;
  private latest: SyncProgress | undefined;
  private skipped = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();
  private readonly rates = new Map<string, { at: number; done: number }>();
  private drawn = false;

  constructor(
    private readonly io: GuardedIo,
    private readonly repository: string,
    private readonly mode: ProgressMode,
    intervalMs: number,
  ) {
    if (mode === 'off') return;
    this.timer = setInterval(() => this.show(), mode === 'tty' ? 100 : intervalMs);
    this.timer.unref();
  }

  /**
   * The mode for this run: a status line on a terminal (without --json); otherwise lines every
   * TRIBUTARY_PROGRESS_SECONDS, else `io.progressSeconds` (the process's io: 5), JSON with --json;
   * 0 turns either off.
   */
  static fromIo(io: GuardedIo, repository: string, json: boolean): SyncProgressDisplay {
    const raw = io.env.TRIBUTARY_PROGRESS_SECONDS;
    const given = raw !== undefined && raw.trim() !== '';
    const seconds = given ? Number(raw) : (io.progressSeconds ?? 0);
    const off = given && !(seconds > 0);
    const terminal = !json && io.stderr.isTTY;
    const mode: ProgressMode = off || (!terminal && !(seconds > 0)) ? 'off' : terminal ? 'tty' : json ? 'json' : 'lines';
    return new SyncProgressDisplay(io, repository, mode, Math.max(50, Math.round(seconds * 1000)));
  }

  update(progress: SyncProgress): void {
    this.latest = progress;
  }

  /** A unit was left out (`--on-error skip`): counted in the next line shown. */
  noteSkipped(): void {
    this.skipped++;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.mode === 'tty' && this.drawn) this.io.stderr.write('\r\x1b[2K');
  }

  private show(): void {
    const elapsedMs = Date.now() - this.started;
    if (this.io.stderr.closed) return;
    if (this.mode === 'json') {
      this.io.stderr.write(`${JSON.stringify({ progress: { repository: this.repository, elapsedMs, ...(this.latest ?? {}), ...(this.skipped > 0 ? { skipped: this.skipped } : {}) } })}\n`);
      return;
    }
    const text = `syncing ${this.repository} (${formatDuration(elapsedMs)}): ${this.describe()}`;
    if (this.mode === 'tty') {
      // one terminal line, or the next redraw would not replace it
      const width = Math.max(40, (this.io.stderr.columns ?? 100) - 3);
      this.io.stderr.write(`\r\x1b[2K${FRAMES[this.frame++ % FRAMES.length]} ${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
      this.drawn = true;
    } else {
      this.io.stderr.write(`${text}\n`);
    }
  }

  /** `reading PULP_MANIFEST 45% (8.1 of 18.0 MiB, 4s left); 90,000 added; metadata 1 file (18.0 MiB); artifacts 1,200 of 5,000 (24%); 3 units left out`. */
  describe(): string {
    const p = this.latest;
    if (!p) return 'starting';
    const parts: string[] = [];
    if (p.index && p.index.total > 0 && p.index.done < p.index.total) {
      const { what, done, total } = p.index;
      parts.push(`${what} ${percent(done, total)} (${formatBytes(done)} of ${formatBytes(total)}${this.eta('index', done, total)})`);
    }
    parts.push(`${formatCount(p.added)} added, ${formatCount(p.updated)} updated, ${formatCount(p.removed)} removed`);
    if (p.metadataFiles > 0) parts.push(`metadata ${formatCount(p.metadataFiles)} ${p.metadataFiles === 1 ? 'file' : 'files'} (${formatBytes(p.metadataBytes)})`);
    if (p.artifactsDue > 0 || p.downloadedFiles > 0) {
      const done = `${formatCount(p.downloadedFiles)} (${formatBytes(p.downloadedBytes)})`;
      if (p.artifactsListed && p.artifactsDue > 0) {
        parts.push(`artifacts ${done} of ${formatCount(p.artifactsDue)} downloaded, ${percent(p.downloadedFiles, p.artifactsDue)}${this.eta('artifacts', p.downloadedFiles, p.artifactsDue)}`);
      } else {
        parts.push(`artifacts ${done} of ${formatCount(p.artifactsDue)} so far downloaded`);
      }
    }
    if (this.skipped > 0) parts.push(`${formatCount(this.skipped)} ${this.skipped === 1 ? 'unit' : 'units'} left out`);
    return parts.join('; ');
  }

  /** `, 12s left` from the rate since this quantity was first seen; nothing until there is a rate. */
  private eta(key: string, done: number, total: number): string {
    const now = Date.now();
    const first = this.rates.get(key);
    if (!first) {
      this.rates.set(key, { at: now, done });
      return '';
    }
    const rate = (done - first.done) / (now - first.at);
    if (!(rate > 0) || now - first.at < 1000) return '';
    return `, ${formatDuration((total - done) / rate)} left`;
  }
}

function percent(done: number, total: number): string {
  return `${Math.min(100, Math.floor((done / total) * 100))}%`;
}

/** `4s`, `1m05s`, `2h03m`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
