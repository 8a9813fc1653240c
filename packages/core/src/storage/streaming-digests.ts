import { createHash, type Hash } from 'node:crypto';
import { Transform, Writable } from 'node:stream';
import {
  DIGEST_HEX_LENGTH,
  ErrorCodes,
  TributaryError,
  type DigestAlgorithm,
  type Digests,
} from '@tributary/plugin-api';

const HEX = /^[0-9a-f]+$/;

/**
 * Checks expected digests before any byte is read — a malformed expectation is bad input, not a
 * mismatch — and returns them lowercased. Unknown algorithms and hex of the wrong length are
 * TRIBUTARY_ERR_DIGEST_INVALID. `what` names the subject in the error; a function is only called
 * when there is an error to name it in.
 */
export function normalizeExpectedDigests(digests: Digests | undefined, what: string | (() => string)): Digests {
  const normalized: Partial<Record<DigestAlgorithm, string>> = {};
  if (digests === undefined) return normalized;
  const label = (): string => (typeof what === 'string' ? what : what());
  for (const algorithm of Object.keys(digests) as DigestAlgorithm[]) {
    const value: unknown = digests[algorithm];
    if (value === undefined) continue;
    if (!Object.prototype.hasOwnProperty.call(DIGEST_HEX_LENGTH, algorithm)) {
      throw new TributaryError(ErrorCodes.DIGEST_INVALID, `${label()}: unknown digest algorithm '${algorithm}'`, {
        details: { algorithm },
      });
    }
    const lower = typeof value === 'string' ? value.toLowerCase() : '';
    const length = DIGEST_HEX_LENGTH[algorithm];
    if (lower.length !== length || !HEX.test(lower)) {
      throw new TributaryError(
        ErrorCodes.DIGEST_INVALID,
        `${label()}: expected ${algorithm} ${JSON.stringify(String(value).slice(0, 200))} is not ${length} hex digits`,
        { details: { algorithm } },
      );
    }
    normalized[algorithm] = lower;
  }
  return normalized;
}

/**
 * sha256 plus whichever other algorithms an expectation names, fed chunk by chunk as bytes stream
 * past, so a file is read exactly once.
 */
export class StreamingDigests {
  private readonly sha256 = createHash('sha256');
  private readonly others: [DigestAlgorithm, Hash][] = [];
  private bytes = 0;

  constructor(expected?: Digests) {
    if (expected === undefined) return;
    for (const algorithm of Object.keys(expected) as DigestAlgorithm[]) {
      if (algorithm !== 'sha256' && expected[algorithm] !== undefined) {
        this.others.push([algorithm, createHash(algorithm)]);
      }
    }
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.bytes;
  }

  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.sha256.update(chunk);
    for (let i = 0; i < this.others.length; i++) this.others[i]![1].update(chunk);
  }

  /** Final hex digests; call once, after the last chunk. */
  digest(): Digests & { sha256: string } {
    const result: Digests & { sha256: string } = { sha256: this.sha256.digest('hex') };
    for (const [algorithm, hash] of this.others) result[algorithm] = hash.digest('hex');
    return result;
  }
}

/** A stream end that only feeds `digests`: for hashing a file in place. */
export function digestingSink(digests: StreamingDigests): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      digests.update(chunk);
      callback();
    },
  });
}

/** A pass-through that feeds `digests`: for hashing while copying. */
export function digestingPassThrough(digests: StreamingDigests): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      digests.update(chunk);
      callback(null, chunk);
    },
  });
}

/** Throws TRIBUTARY_ERR_SIZE_MISMATCH when `expected` is given and differs from `actual`. */
export function verifySize(expected: number | undefined, actual: number, what: string): void {
  if (expected !== undefined && expected !== actual) {
    throw new TributaryError(ErrorCodes.SIZE_MISMATCH, `${what}: expected ${expected} bytes, got ${actual}`, {
      details: { expected, actual },
    });
  }
}

/**
 * Throws TRIBUTARY_ERR_DIGEST_MISMATCH naming the first algorithm whose expected digest differs
 * from the computed one. `expected` must already be normalised.
 */
export function verifyDigests(expected: Digests, actual: Digests, what: string): void {
  for (const algorithm of Object.keys(expected) as DigestAlgorithm[]) {
    const want = expected[algorithm];
    if (want === undefined) continue;
    const got = actual[algorithm];
    if (got !== want) {
      throw new TributaryError(
        ErrorCodes.DIGEST_MISMATCH,
        `${what}: ${algorithm} mismatch, expected ${want}, got ${got ?? '(not computed)'}`,
        { details: { algorithm, expected: want, actual: got } },
      );
    }
  }
}
