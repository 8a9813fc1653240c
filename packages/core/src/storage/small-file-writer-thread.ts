import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { DigestAlgorithm, Digests } from '@tributary/plugin-api';
import { digestsMatch, digestsOf } from './body-digests.js';
import { WRITE_BYTES, writeAllSync } from './page-cache-writes.js';
import type { WriterAnswer, WriterJob, WriterReply, WriterThreadData } from './writer-thread-protocol.js';

/**
 * The thread of a {@link SmallFileWriter}: runs each batch it is sent with synchronous calls, in
 * order, and answers the batch with one message. A write that fails removes what it wrote; a
 * stream that failed fails its later jobs (its owner aborts it).
 */
const port = parentPort!;
const shared = workerData as WriterThreadData | undefined;

interface OpenStream {
  readonly fd: number;
  readonly hashes: readonly (readonly [DigestAlgorithm, Hash])[];
}

const streams = new Map<number, OpenStream | Error>();

port.on('message', (jobs: readonly WriterJob[]) => {
  const answers: WriterAnswer[] = [];
  const memory: ArrayBuffer[] = [];
  for (const job of jobs) {
    try {
      answers.push(run(job));
    } catch (error) {
      const failure = error as NodeJS.ErrnoException;
      answers.push([-job.id, failure.code ?? '', failure.message ?? String(error)]);
    }
    if ('recycle' in job && job.recycle) memory.push(job.body);
  }
  port.postMessage({ answers, memory } satisfies WriterReply, memory);
});

function run(job: WriterJob): WriterAnswer {
  switch (job.op) {
    case 'write':
      writeWhole(job.file, new Uint8Array(job.body, 0, job.length));
      return [job.id];
    case 'rename':
      fs.renameSync(job.from, job.to);
      return [job.id];
    case 'write-hashed': {
      const body = new Uint8Array(job.body, 0, job.length);
      const digests = digestsOf(body, job.expected);
      const matches = digestsMatch(job.expected, digests);
      // a body that does not match is never written: its owner reports the mismatch
      if (matches) writeWhole(job.file, body);
      return [job.id, { digests, written: matches }];
    }
    case 'open': {
      let fd: number;
      try {
        fd = fs.openSync(job.file, 'w');
      } catch (error) {
        streams.set(job.stream, error as Error);
        throw error;
      }
      streams.set(job.stream, { fd, hashes: ['sha256' as const, ...job.algorithms].map((algorithm) => [algorithm, createHash(algorithm)] as const) });
      return [job.id];
    }
    case 'append': {
      const stream = openStream(job.stream);
      const chunk = job.slab >= 0 ? new Uint8Array(shared!.slabs, job.slab * shared!.slabBytes, job.length) : new Uint8Array(job.body!, 0, job.length);
      // each piece hashed right after it is written, while it is still in the cache
      for (let offset = 0; offset < chunk.length; ) {
        const piece = chunk.subarray(offset, offset + WRITE_BYTES);
        try {
          writeAllSync(stream.fd, piece);
        } catch (error) {
          fs.closeSync(stream.fd);
          streams.set(job.stream, error as Error);
          throw error;
        }
        for (const [, hashing] of stream.hashes) hashing.update(piece);
        offset += piece.length;
      }
      return [job.id];
    }
    case 'end': {
      const stream = openStream(job.stream);
      streams.delete(job.stream);
      fs.closeSync(stream.fd);
      const digests: Partial<Record<DigestAlgorithm, string>> = {};
      for (const [algorithm, hashing] of stream.hashes) digests[algorithm] = hashing.digest('hex');
      return [job.id, { digests: digests as Digests & { sha256: string } }];
    }
    case 'abort': {
      const stream = streams.get(job.stream);
      streams.delete(job.stream);
      if (stream !== undefined && !(stream instanceof Error)) fs.closeSync(stream.fd);
      fs.rmSync(job.file, { force: true });
      return [job.id];
    }
  }
}

/** The stream's state; its failure again for every job after the one that failed. */
function openStream(id: number): OpenStream {
  const stream = streams.get(id);
  if (stream === undefined) throw new Error(`stream ${id} is not open`);
  if (stream instanceof Error) throw stream;
  return stream;
}

function writeWhole(file: string, body: Uint8Array): void {
  const fd = openCreatingDir(file);
  try {
    writeAllSync(fd, body);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw error;
  }
  fs.closeSync(fd);
}

/** Opens `file` for writing; a missing directory is created (the storage's shard directories come with their first file). */
function openCreatingDir(file: string): number {
  try {
    return fs.openSync(file, 'w');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    return fs.openSync(file, 'w');
  }
}
