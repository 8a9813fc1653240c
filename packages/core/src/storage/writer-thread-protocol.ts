import type { DigestAlgorithm, Digests } from '@tributary/plugin-api';

/**
 * What the storage's writer thread is asked to do ({@link SmallFileWriter}), a batch per message.
 * `stream` numbers one file written chunk by chunk: its `open`, `append`s and `end` or `abort`
 * arrive in order, all at one thread.
 */
export type WriterJob =
  | ({ readonly id: number; readonly op: 'write'; readonly file: string } & MovedBody)
  | { readonly id: number; readonly op: 'rename'; readonly from: string; readonly to: string }
  /** Hash `body` (sha256 and each algorithm `expected` names); write it to `file` only if every expected digest matches. */
  | ({ readonly id: number; readonly op: 'write-hashed'; readonly file: string; readonly expected: Digests } & MovedBody)
  /** Create or truncate `file` for a stream hashed with sha256 and `algorithms`. */
  | { readonly id: number; readonly op: 'open'; readonly stream: number; readonly file: string; readonly algorithms: readonly DigestAlgorithm[] }
  /**
   * Write and hash `length` bytes: of slab number `slab` of the memory shared with the thread
   * ({@link WriterThreadData}), or, when `slab` is -1, of `body`, moved with the job.
   */
  | { readonly id: number; readonly op: 'append'; readonly stream: number; readonly slab: number; readonly body?: ArrayBuffer; readonly length: number }
  /** Close the stream's file; answered with its digests. */
  | { readonly id: number; readonly op: 'end'; readonly stream: number }
  /** Close the stream's file, if open, and remove it. */
  | { readonly id: number; readonly op: 'abort'; readonly stream: number; readonly file: string };

/**
 * A body moved to the thread: the first `length` bytes of `body`. With `recycle`, the memory is
 * its owner's (a BodyMemory) and goes back with the answer ({@link WriterReply}).
 */
export interface MovedBody {
  readonly body: ArrayBuffer;
  readonly length: number;
  readonly recycle?: true;
}

/** A job's answer: `[id]` done, `[id, value]` done with a value, `[-id, errno code or '', message]` failed. */
export type WriterAnswer = readonly [number] | readonly [number, WriterValue] | readonly [number, string, string];

/** `write-hashed`: the digests, and whether the body was written; `end`: the digests. */
export type WriterValue = { readonly digests: Digests & { sha256: string }; readonly written?: boolean };

/** The thread's message for one batch: the answers in order, and the memory of recycled bodies, moved back. */
export interface WriterReply {
  readonly answers: readonly WriterAnswer[];
  readonly memory: readonly ArrayBuffer[];
}

/** The thread's `workerData`: memory it shares with its owner, cut into slabs of `slabBytes`. */
export interface WriterThreadData {
  readonly slabs: SharedArrayBuffer;
  readonly slabBytes: number;
}
