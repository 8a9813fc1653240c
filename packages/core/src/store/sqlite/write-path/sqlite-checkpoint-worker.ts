import BetterSqlite3 from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { CheckpointReply } from './sqlite-checkpointer.js';

/**
 * The thread of a {@link SqliteCheckpointer}: its own connection to the catalog, which only ever
 * runs `PRAGMA wal_checkpoint(PASSIVE)` when asked, and closes when told to (not being the last
 * connection, its close leaves the log alone).
 */
const { file } = workerData as { file: string };
const port = parentPort!;
const db = new BetterSqlite3(file, { fileMustExist: true });
// as the writer: the log is synced before each checkpoint, the file after it
db.pragma('synchronous = NORMAL');

port.on('message', (message: 'checkpoint' | 'close') => {
  if (message === 'close') {
    db.close();
    port.close();
    return;
  }
  let reply: CheckpointReply;
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    reply = { ok: true, busy: result!.busy, log: result!.log, checkpointed: result!.checkpointed };
  } catch (error) {
    reply = { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
