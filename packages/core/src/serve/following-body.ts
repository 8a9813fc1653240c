import { once } from 'node:events';
import { open, type FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { setImmediate as afterIo } from 'node:timers/promises';
import type { SharedFetch } from '../publish/on-demand-artifacts.js';

/** The largest read of a body followed from disk (a client that fell behind what memory holds). */
const DISK_READ = 1024 * 1024;
/** Bytes handed to the socket in one batch before it is given a chance to drain. */
const BATCH_BYTES = 4 * 1024 * 1024;

/**
 * Writes a download in progress to one response as it arrives, until the whole body is sent; the
 * response's head must be written. The last byte is held back until the whole artifact is
 * verified: a body that fails its size or digest check never looks complete (the caller cuts the
 * connection on the error this rejects with). Resolves early, with the fetch going on, when the
 * client goes away.
 *
 * What arrived during one turn of the event loop goes out as one socket write: a write per received
 * chunk costs the one thread that receives the body as much again as receiving it.
 */
export async function sendFollowing(fetch: SharedFetch, size: number, response: ServerResponse, finalPath: (sha256: string) => string): Promise<void> {
  const restarts = fetch.restarts;
  let handle: FileHandle | undefined;
  let handleIsFinal = false;
  let position = 0;
  try {
    for (;;) {
      if (response.destroyed) return;
      if (fetch.restarts !== restarts && position > 0) throw new Error('the upstream transfer started over; the partial body sent cannot be vouched for');
      const settled = fetch.settled;
      if (settled !== undefined && 'error' in settled) throw settled.error;
      // bytes short of the size cannot look like a whole body; the last one waits for verification
      const limit = settled !== undefined ? settled.record.size : Math.min(fetch.received, size - 1);
      if (position >= limit) {
        if (settled !== undefined) {
          response.end();
          return;
        }
        await fetch.changed();
        // the rest of the chunks the event loop is receiving now join this batch
        await afterIo();
        continue;
      }
      let batch = 0;
      response.cork();
      try {
        while (position < limit && batch < BATCH_BYTES) {
          const recent = fetch.fromMemory(position, limit);
          if (recent === undefined || recent.length === 0) break;
          position += recent.length;
          batch += recent.length;
          response.write(recent);
        }
      } finally {
        response.uncork();
      }
      if (batch > 0) {
        await drained(response);
        continue;
      }
      // fallen behind what memory holds: read it back from the file
      let diskLimit = limit;
      if (settled !== undefined) {
        // the stored file, never a temporary one an attempt may have started over or removed
        if (!handleIsFinal || handle === undefined) {
          await handle?.close();
          handle = undefined;
          handle = await open(finalPath(settled.record.sha256), 'r');
          handleIsFinal = true;
        }
      } else {
        diskLimit = Math.min(limit, fetch.bytesOnDisk);
        if (fetch.path === undefined || position >= diskLimit) {
          await fetch.changed();
          continue;
        }
        // moved into storage in between: the end is about to be announced
        handle ??= await open(fetch.path, 'r').catch(() => undefined);
        if (handle === undefined) {
          await fetch.changed();
          continue;
        }
      }
      const want = Math.min(diskLimit - position, DISK_READ);
      const buffer = Buffer.allocUnsafe(want);
      const { bytesRead } = await handle.read(buffer, 0, want, position);
      if (bytesRead === 0) {
        if (settled !== undefined) throw new Error(`the stored file ends at ${position} bytes, before its recorded size`);
        await fetch.changed();
        continue;
      }
      position += bytesRead;
      response.write(bytesRead === want ? buffer : buffer.subarray(0, bytesRead));
      await drained(response);
    }
  } finally {
    await handle?.close();
  }
}

/** Resolves once the response can take more (at once when it can now), or its connection is gone. */
async function drained(response: ServerResponse): Promise<void> {
  if (!response.writableNeedDrain || response.destroyed) return;
  const gone = new AbortController();
  const onClose = () => gone.abort();
  response.once('close', onClose);
  try {
    await once(response, 'drain', { signal: gone.signal });
  } catch {
    // closed: the caller sees `destroyed`
  } finally {
    response.off('close', onClose);
  }
}
