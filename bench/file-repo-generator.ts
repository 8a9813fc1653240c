import { hash } from 'node:crypto';

/** Shape of a generated file repository: how many files and how large each is. */
export interface GeneratedRepoSpec {
  readonly entries: number;
  readonly fileSize: number;
}

/**
 * Deterministic synthetic file repositories for benchmarks: file `i` is a fixed pseudo-random block
 * whose first bytes are replaced by `i`, so every file is distinct and anyone can regenerate its
 * bytes and digest without storing them.
 */
export class GeneratedFileRepo {
  private readonly block: Buffer;

  constructor(readonly spec: GeneratedRepoSpec) {
    if (spec.fileSize < 8) throw new RangeError('generated files need at least 8 bytes');
    this.block = pseudoRandomBytes(spec.fileSize, 0x5eed);
  }

  /** Repository-relative path of file `i`; spread over 256 directories like real mirrors. */
  static relativePath(i: number): string {
    return `files/${(i % 256).toString(16).padStart(2, '0')}/file-${i}.bin`;
  }

  /** Index of the file a relative path names, or undefined. */
  static indexOf(relativePath: string): number | undefined {
    const match = /^files\/[0-9a-f]{2}\/file-(\d+)\.bin$/.exec(relativePath);
    return match ? Number(match[1]) : undefined;
  }

  body(i: number): Buffer {
    const body = Buffer.from(this.block);
    body.writeDoubleBE(i, 0);
    return body;
  }

  /** The PULP_MANIFEST text, one `path,sha256,size` line per file. */
  manifest(): Buffer {
    const lines: string[] = [];
    for (let i = 0; i < this.spec.entries; i++) {
      lines.push(`${GeneratedFileRepo.relativePath(i)},${hash('sha256', this.body(i))},${this.spec.fileSize}`);
    }
    return Buffer.from(lines.join('\n') + '\n');
  }
}

/** xorshift32 bytes: reproducible and fast, not for anything secret. */
function pseudoRandomBytes(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    bytes[i] = x & 0xff;
  }
  return bytes;
}
