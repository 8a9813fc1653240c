import type { SyncLog } from '@tributary/plugin-api';
import type { SyncReportBuilder } from './sync-report-builder.js';

const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi;

/** The log a sync's importer writes to: lines go to the report and the caller, with url credentials removed. */
export class SyncLogger implements SyncLog {
  constructor(
    private readonly report: SyncReportBuilder,
    private readonly sink?: (line: string) => void,
  ) {}

  info(message: string): void {
    this.write(message);
  }

  warn(message: string): void {
    this.write(`warning: ${message}`);
  }

  private write(message: string): void {
    const line = String(message).replace(USERINFO, '$1');
    this.report.log(line);
    this.sink?.(line);
  }
}
