import { randomUUID } from 'node:crypto';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import type { SyncRecord, SyncRecordOutcome, SyncRecordStart, SyncStatus } from '../../content-store.js';
import type { SqliteStatements } from './sqlite-statements.js';

interface HistoryRow {
  id: string;
  repo_id: string;
  importer: string;
  settings_hash: string;
  version: number;
  started_at: string;
  status: SyncStatus;
  finished_at: string | null;
  report: string | null;
  error: string | null;
  fingerprint: string | null;
  result_version: number | null;
}

/** One record per sync of a repository. Runs inside the store's transactions. */
export class SqliteSyncHistory {
  constructor(private readonly sql: SqliteStatements) {}

  start(record: SyncRecordStart): string {
    const id = randomUUID();
    this.sql
      .prepare(
        `INSERT INTO sync_history (id, repo_id, importer, settings_hash, version, started_at, status)
         VALUES (?, ?, ?, ?, ?, ?, 'running')`,
      )
      .run(id, record.repoId, record.importer, record.settingsHash, record.version, record.startedAt);
    return id;
  }

  finish(id: string, outcome: SyncRecordOutcome): void {
    const changed = this.sql
      .prepare(
        `UPDATE sync_history SET status = ?, finished_at = ?, report = ?, error = ?, fingerprint = ?, result_version = ?
         WHERE id = ?`,
      )
      .run(
        outcome.status,
        outcome.finishedAt,
        outcome.report === null ? null : JSON.stringify(outcome.report),
        outcome.error === null ? null : JSON.stringify(outcome.error),
        outcome.fingerprint,
        outcome.resultVersion,
        id,
      ).changes;
    if (changed === 0) {
      throw new TributaryError(ErrorCodes.STORE, `no sync record with id ${id} to finish`, { details: { id } });
    }
  }

  list(repoId: string, limit?: number): SyncRecord[] {
    const rows = this.sql
      .prepare('SELECT * FROM sync_history WHERE repo_id = ? ORDER BY started_at DESC, seq DESC LIMIT ?')
      .all(repoId, limit === undefined ? -1 : limit) as HistoryRow[];
    return rows.map(toRecord);
  }

  /** The newest successful sync decides, even when it recorded no fingerprint: an older one is stale. */
  lastFingerprint(repoId: string, settingsHash: string): string | undefined {
    const row = this.sql
      .prepare(
        `SELECT fingerprint, settings_hash FROM sync_history WHERE repo_id = ? AND status = 'succeeded'
         ORDER BY started_at DESC, seq DESC LIMIT 1`,
      )
      .get(repoId) as { fingerprint: string | null; settings_hash: string } | undefined;
    return row?.settings_hash === settingsHash ? (row.fingerprint ?? undefined) : undefined;
  }
}

function toRecord(row: HistoryRow): SyncRecord {
  const start = {
    id: row.id,
    repoId: row.repo_id,
    importer: row.importer,
    settingsHash: row.settings_hash,
    version: row.version,
    startedAt: row.started_at,
    status: row.status,
  };
  if (row.status === 'running') return start;
  return {
    ...start,
    finishedAt: row.finished_at ?? undefined,
    report: row.report === null ? null : JSON.parse(row.report),
    error: row.error === null ? null : JSON.parse(row.error),
    fingerprint: row.fingerprint,
    resultVersion: row.result_version ?? undefined,
  };
}
