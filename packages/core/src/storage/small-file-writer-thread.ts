import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { SmallFileJob, SmallFileReply } from './small-file-writer.js';

/**
 * The thread of a {@link SmallFileWriter}: runs each batch it is sent with synchronous calls, in
 * order, and answers the batch with one message. A write that fails removes what it wrote.
 */
const port = parentPort!;

port.on('message', (jobs: readonly SmallFileJob[]) => {
  const reply: (number | string)[] = [];
  for (const job of jobs) {
    try {
      if (job.op === 'write') writeWhole(job.file, new Uint8Array(job.body));
      else fs.renameSync(job.from, job.to);
      reply.push(job.id);
    } catch (error) {
      const failure = error as NodeJS.ErrnoException;
      reply.push(-job.id, failure.code ?? '', failure.message ?? String(error));
    }
  }
  port.postMessage(reply satisfies SmallFileReply);
});

function writeWhole(file: string, body: Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (let offset = 0; offset < body.length; ) offset += fs.writeSync(fd, body, offset, body.length - offset);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw error;
  }
  fs.closeSync(fd);
}
