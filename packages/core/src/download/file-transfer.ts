import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { ErrorCodes, TributaryError, isTributaryError } from '@tributary/plugin-api';
import type { VerifyingFileWriter } from './verifying-file-writer.js';

const READ_CHUNK = 1024 * 1024;

/**
 * Copies a local file named by a `file://` url into `writer`, with the verification an HTTP body
 * gets. Local failures (missing file, a directory, no permission) are TRIBUTARY_ERR_NETWORK with
 * `details.local`, which is never retried.
 */
export async function fileTransfer(
  file: string,
  displayUrl: string,
  writer: VerifyingFileWriter,
  signal: AbortSignal | undefined,
  cancelled: () => TributaryError,
): Promise<void> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
    writer.checkDeclaredLength(stat.size);
  } catch (error) {
    throw localError(error, displayUrl);
  }
  if (signal?.aborted) throw cancelled();
  const stream = createReadStream(file, { highWaterMark: READ_CHUNK });
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) return resolve();
      stream.destroy();
      reject(error);
    };
    const onAbort = (): void => finish(cancelled());
    signal?.addEventListener('abort', onAbort, { once: true });
    writer.onStreamError = finish;
    stream.on('data', (chunk) => {
      if (settled) return;
      try {
        if (!writer.write(chunk as Buffer)) {
          stream.pause();
          writer.onDrain(() => stream.resume());
        }
      } catch (error) {
        finish(error);
      }
    });
    stream.on('end', () => finish());
    stream.on('error', (error) => finish(localError(error, displayUrl)));
  });
}

function localError(error: unknown, displayUrl: string): TributaryError {
  if (isTributaryError(error)) return error;
  const errno = (error as NodeJS.ErrnoException).code;
  return new TributaryError(ErrorCodes.NETWORK, `cannot read ${displayUrl}: ${errno ?? (error as Error).message}`, {
    cause: error,
    details: { url: displayUrl, errno, local: true },
  });
}
