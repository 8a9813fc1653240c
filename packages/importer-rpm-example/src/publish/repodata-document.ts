import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { constants as zlib, createGzip } from 'node:zlib';
import type { DigestAlgorithm, DigestName, PublishContext } from '@tributary/plugin-api';

/** Bytes of text gathered before they are written out. */
const FLUSH_CHARS = 1 << 20;
/** Read and compression buffer size. */
const CHUNK = 256 * 1024;
/** createrepo_c's gzip level (zlib's default). */
const GZIP_LEVEL = zlib.Z_DEFAULT_COMPRESSION;

/** What repomd.xml says of a file it lists. */
export interface RepodataRecord {
  readonly type: string;
  readonly href: string;
  readonly checksumType: DigestAlgorithm;
  readonly checksum: string;
  readonly size: number;
  /** Of the decompressed bytes; absent for a file that is not compressed. */
  readonly openChecksum?: string;
  readonly openSize?: number;
  readonly timestamp: number;
}

/**
 * One repodata XML file being generated (primary, filelists, other, updateinfo). Its body is
 * written as it is made, to a scratch file, uncompressed: the root element names the package
 * count, known only at the end, and the file's name its compressed checksum. {@link publish}
 * then streams header, body and footer through gzip into the publication, hashing both sides.
 * Memory holds one megabyte of text per document, whatever the repository's size.
 */
export class RepodataDocument {
  private readonly bodyPath: string;
  private readonly out: WriteStream;
  private parts: string[] = [];
  private chars = 0;
  private failure: Error | undefined;

  constructor(
    private readonly workingDir: string,
    readonly type: string,
  ) {
    this.bodyPath = path.join(workingDir, `${type}.body.xml`);
    this.out = createWriteStream(this.bodyPath, { flags: 'wx' });
    this.out.on('error', (error) => (this.failure ??= error));
  }

  /**
   * Adds text to the body. Returns a promise only when a megabyte was due to be written (await it:
   * it waits while the disk is behind); hundreds of thousands of calls then cost no promise each.
   */
  write(text: string): Promise<void> | undefined {
    this.parts.push(text);
    this.chars += text.length;
    return this.chars >= FLUSH_CHARS ? this.flush() : undefined;
  }

  private async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    const chunk = Buffer.from(this.parts.join(''));
    this.parts = [];
    this.chars = 0;
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }

  /** Writes what is left of the body and closes it. */
  async end(): Promise<void> {
    if (this.chars > 0) await this.flush();
    this.out.end();
    await once(this.out, 'close');
    if (this.failure) throw this.failure;
  }

  /**
   * Compresses `header` + body + `footer` with gzip as `repodata/<checksum>-<fileName>.gz` into the
   * publication (checksums of type `checksumType`), and removes the scratch files.
   */
  async publish(ctx: PublishContext<unknown>, header: string, footer: string, fileName: string, checksumType: DigestAlgorithm, timestamp: number): Promise<RepodataRecord> {
    const compressedPath = path.join(this.workingDir, `${this.type}.xml.gz`);
    const openHash = createHash(checksumType);
    const hash = createHash(checksumType);
    let openSize = 0;
    let size = 0;
    const bodyPath = this.bodyPath;
    async function* document(): AsyncGenerator<Buffer> {
      for (const part of [Buffer.from(header), bodyPath, Buffer.from(footer)]) {
        const chunks: AsyncIterable<Buffer> | Iterable<Buffer> = typeof part === 'string' ? createReadStream(part, { highWaterMark: CHUNK }) : [part];
        for await (const chunk of chunks) {
          openHash.update(chunk);
          openSize += chunk.length;
          yield chunk;
        }
      }
    }
    try {
      await pipeline(
        document,
        // zlib works on the thread pool: the three documents compress side by side
        createGzip({ level: GZIP_LEVEL, chunkSize: CHUNK }),
        async function* (compressed: AsyncIterable<Buffer>) {
          for await (const chunk of compressed) {
            hash.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(compressedPath, { flags: 'wx' }),
        { signal: ctx.signal },
      );
      const checksum = hash.digest('hex');
      const href = `repodata/${checksum}-${fileName}.gz`;
      const extra: DigestName[] = checksumType === 'sha256' ? [] : [checksumType];
      await ctx.addFile(href, createReadStream(compressedPath, { highWaterMark: CHUNK }), { digests: extra });
      return { type: this.type, href, checksumType, checksum, size, openChecksum: openHash.digest('hex'), openSize, timestamp };
    } finally {
      await rm(compressedPath, { force: true });
      await rm(bodyPath, { force: true });
    }
  }

  /** Removes the scratch file (publishing failed or was abandoned). */
  async discard(): Promise<void> {
    if (!this.out.closed) {
      this.out.destroy();
      await once(this.out, 'close').catch(() => undefined);
    }
    await rm(this.bodyPath, { force: true });
  }
}
