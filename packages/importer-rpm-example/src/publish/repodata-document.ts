import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { constants as zlib, crc32, createDeflateRaw, deflateRawSync, type DeflateRaw, type ZlibOptions } from 'node:zlib';
import { startThread, type DigestAlgorithm, type DigestName, type PublishContext } from '@tributary/plugin-api';
import { crc32Combine } from './crc32-combine.js';
import { ZSTD_LEVEL } from './zstd-encoder.js';

/** Bytes gathered before they are written out. */
const BUFFER_BYTES = 1 << 20;
/** Read and compression buffer size. */
const CHUNK = 256 * 1024;
/**
 * Bytes a document's compressor and scratch file may have queued before generation waits for them.
 * At the streams' default (16 KiB) every megabyte written waited for zlib to deflate it, so the
 * main thread stood idle while each document was compressed; a few buffers queued keep both busy.
 */
const QUEUED_BYTES = 4 * BUFFER_BYTES;
/** createrepo_c's gzip level (zlib's default). */
const GZIP_LEVEL = zlib.Z_DEFAULT_COMPRESSION;
/** A gzip member's header as Node's zlib and createrepo_c write it: deflate, no name, no time, Unix. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]);

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

/** How generated repodata is compressed: gzip (createrepo_c's default) or zstd. */
export type RepodataCompression = 'gz' | 'zstd';

/**
 * One repodata XML file being generated (primary, filelists, other, updateinfo), compressed while
 * it is made. Its root element names the package count, known only at the end, and its name its
 * compressed checksum, so the body is deflated on its own as it comes (zlib works on the thread
 * pool: compression runs beside generation, not after it), and {@link publish} assembles the gzip
 * member: header, the root element deflated, the body's deflate stream, the footer deflated (each
 * part but the last ends on a sync flush, so they join into one deflate stream), and a trailer
 * whose CRC-32 combines the parts'. The uncompressed body goes to a scratch file too, for the
 * open-checksum (hashed, header first, on a thread of its own at the end). Memory holds a megabyte
 * buffer per document, whatever the repository's size. When the root element is known before the
 * body (`header`), the open-checksum is hashed as the body is written and no copy is kept.
 *
 * zstd frames cannot be joined like deflate streams (concatenated frames are valid zstd, but not
 * every reader goes past the first), so with zstd the body is only written out, and the thread
 * that hashes it at the end also compresses header, body and footer into one frame.
 */
/** How a document is written: its compression, and what is known before its body. */
export interface RepodataDocumentOptions {
  readonly compression: RepodataCompression;
  /** zstd-napi's binding (see zstdBindingPath), for zstd. */
  readonly zstdBinding?: string | undefined;
  readonly checksumType: DigestAlgorithm;
  /** The header (XML declaration and root element), when known before the body (gz only). */
  readonly header?: string | undefined;
}

export class RepodataDocument {
  private readonly bodyPath: string;
  private readonly deflatedPath: string;
  /** The uncompressed body's scratch file: for an open-checksum hashed at the end, or for zstd. */
  private readonly out: WriteStream | undefined;
  /** The open-checksum being hashed as the body is written (gz with a known header). */
  private readonly openHash: Hash | undefined;
  private readonly compression: RepodataCompression;
  private readonly zstdBinding: string | undefined;
  private readonly header: string | undefined;
  /** The body's deflate stream (gz only). */
  private readonly deflate: DeflateRaw | undefined;
  private readonly deflated: WriteStream | undefined;
  /** Where the zstd frame is written at the end (zstd only). */
  private readonly zstdPath: string;
  private buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  private used = 0;
  private bodyCrc = 0;
  private bodySize = 0;
  private failure: Error | undefined;

  constructor(
    workingDir: string,
    readonly type: string,
    options: RepodataDocumentOptions,
  ) {
    const { compression, zstdBinding } = options;
    this.compression = compression;
    this.zstdBinding = zstdBinding;
    this.bodyPath = path.join(workingDir, `${type}.body.xml`);
    this.deflatedPath = path.join(workingDir, `${type}.body.deflate`);
    this.zstdPath = path.join(workingDir, `${type}.xml.zst`);
    const fail = (error: Error) => void (this.failure ??= error);
    if (compression === 'gz' && options.header !== undefined) {
      this.header = options.header;
      this.openHash = createHash(options.checksumType).update(options.header);
    } else {
      this.out = createWriteStream(this.bodyPath, { flags: 'wx', highWaterMark: QUEUED_BYTES }).on('error', fail);
    }
    if (compression === 'gz') {
      // the stream options pass through to the Transform (Node's zlib types omit them)
      const queued: ZlibOptions = { writableHighWaterMark: QUEUED_BYTES } as ZlibOptions;
      this.deflate = createDeflateRaw({ level: GZIP_LEVEL, chunkSize: CHUNK, finishFlush: zlib.Z_SYNC_FLUSH, ...queued }).on('error', fail);
      this.deflated = createWriteStream(this.deflatedPath, { flags: 'wx', highWaterMark: CHUNK * 4 }).on('error', fail);
      this.deflate.pipe(this.deflated);
    } else if (zstdBinding === undefined) {
      throw new Error('zstd repodata needs the zstd binding');
    }
  }

  /**
   * Adds text to the body, encoded straight into a megabyte buffer: the text (a package's element,
   * built by concatenation) dies young, which keeps the garbage collector's work small. Returns a
   * promise only when the buffer was full and written out (await it: it waits while the disk or
   * the compressor is behind); hundreds of thousands of calls cost no promise each.
   */
  write(text: string): Promise<void> | undefined {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit
    if (this.used + text.length * 3 <= this.buffer.length) {
      this.used += this.buffer.write(text, this.used);
      return undefined;
    }
    return this.writeLarge(text);
  }

  private async writeLarge(text: string): Promise<void> {
    await this.flush();
    if (text.length * 3 <= this.buffer.length) this.used += this.buffer.write(text, this.used);
    else await this.send(Buffer.from(text));
  }

  private async flush(): Promise<void> {
    if (this.used === 0) return;
    const chunk = this.buffer.subarray(0, this.used);
    this.buffer = Buffer.allocUnsafe(BUFFER_BYTES);
    this.used = 0;
    await this.send(chunk);
  }

  private async send(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    this.bodyCrc = crc32(chunk, this.bodyCrc);
    this.bodySize += chunk.length;
    this.openHash?.update(chunk);
    this.out?.write(chunk);
    this.deflate?.write(chunk);
    // asked each time: one may drain while the other is awaited
    if (this.out?.writableNeedDrain) await once(this.out, 'drain');
    if (this.deflate?.writableNeedDrain) await once(this.deflate, 'drain');
  }

  /** Writes what is left of the body and closes it (its deflate stream ends on a sync flush). */
  async end(): Promise<void> {
    await this.flush();
    this.out?.end();
    this.deflate?.end();
    await Promise.all([this.out && once(this.out, 'close'), this.deflated && once(this.deflated, 'close')]);
    if (this.failure) throw this.failure;
  }

  /**
   * Publishes `header` + body + `footer`, compressed, as `repodata/<checksum>-<fileName>.gz` (or
   * `.zst`; checksums of type `checksumType`), and removes the scratch files.
   */
  async publish(ctx: PublishContext<unknown>, header: string, footer: string, fileName: string, checksumType: DigestAlgorithm, timestamp: number): Promise<RepodataRecord> {
    try {
      const head = Buffer.from(header);
      const foot = Buffer.from(footer);
      const extra: DigestName[] = checksumType === 'sha256' ? [] : [checksumType];
      if (this.compression === 'zstd') {
        const zstd = { binding: this.zstdBinding!, level: ZSTD_LEVEL, out: this.zstdPath };
        const { open, packed } = await hashInThread(checksumType, head, this.bodyPath, foot, zstd);
        const href = `repodata/${packed!.hex}-${fileName}.zst`;
        await ctx.addFile(href, createReadStream(this.zstdPath, { highWaterMark: CHUNK }), { digests: extra });
        const openSize = head.length + this.bodySize + foot.length;
        return { type: this.type, href, checksumType, checksum: packed!.hex, size: packed!.size, openChecksum: open, openSize, timestamp };
      }
      const openSize = head.length + this.bodySize + foot.length;
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(crc32Combine(crc32Combine(crc32(head), this.bodyCrc, this.bodySize), crc32(foot), foot.length), 0);
      trailer.writeUInt32LE(openSize % 2 ** 32, 4);
      const headDeflated = deflateRawSync(head, { level: GZIP_LEVEL, finishFlush: zlib.Z_SYNC_FLUSH });
      const footDeflated = deflateRawSync(foot, { level: GZIP_LEVEL });
      const deflatedPath = this.deflatedPath;
      async function* gzipped(): AsyncGenerator<Buffer> {
        yield GZIP_HEADER;
        yield headDeflated;
        yield* createReadStream(deflatedPath, { highWaterMark: CHUNK });
        yield footDeflated;
        yield trailer;
      }
      let hashed: Promise<string>;
      if (this.openHash) {
        // the header hashed first must be the one published: the caller's count was right
        if (header !== this.header) throw new Error(`${this.type}: the header published is not the one hashed before the body`);
        hashed = Promise.resolve(this.openHash.update(foot).digest('hex'));
      } else {
        hashed = hashInThread(checksumType, head, this.bodyPath, foot).then((r) => r.open);
      }
      const [openChecksum, compressed] = await Promise.all([hashed, digestOf(gzipped(), checksumType)]);
      const href = `repodata/${compressed.hex}-${fileName}.gz`;
      await ctx.addFile(href, gzipped(), { digests: extra });
      return { type: this.type, href, checksumType, checksum: compressed.hex, size: compressed.size, openChecksum, openSize, timestamp };
    } finally {
      await this.discard();
    }
  }

  /** Removes the scratch files (published, or abandoned). */
  async discard(): Promise<void> {
    for (const stream of [this.out, this.deflated]) {
      if (stream && !stream.closed) {
        stream.destroy();
        await once(stream, 'close').catch(() => undefined);
      }
    }
    this.deflate?.destroy();
    await rm(this.bodyPath, { force: true });
    await rm(this.deflatedPath, { force: true });
    await rm(this.zstdPath, { force: true });
  }
}

async function digestOf(chunks: AsyncIterable<Buffer>, algorithm: DigestAlgorithm): Promise<{ hex: string; size: number }> {
  const hash = createHash(algorithm);
  let size = 0;
  for await (const chunk of chunks) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { hex: hash.digest('hex'), size };
}

/**
 * Runs in a thread of its own: the digest of head + the file + foot (the open-checksum), and with
 * `zstd` the same bytes compressed into one zstd frame (with its content checksum, as the zstd
 * command writes) at `zstd.out`, and that file's digest and size.
 */
const HASH_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const { algorithm, head, path, foot, zstd } = workerData;
const open = createHash(algorithm);
let compress = () => undefined;
let packed;
if (zstd) {
  const binding = require(zstd.binding);
  const cctx = new binding.CCtx();
  cctx.setParameter(binding.CParameter.compressionLevel, zstd.level);
  cctx.setParameter(binding.CParameter.checksumFlag, 1);
  const out = fs.openSync(zstd.out, 'wx');
  const dst = Buffer.allocUnsafe(binding.cStreamOutSize());
  const hash = createHash(algorithm);
  let size = 0;
  compress = (src, last) => {
    const op = last ? binding.EndDirective.end : binding.EndDirective.continue;
    for (;;) {
      const [left, produced, consumed] = cctx.compressStream2(dst, src, op);
      if (produced > 0) {
        const bytes = dst.subarray(0, produced);
        hash.update(bytes);
        fs.writeSync(out, bytes);
        size += produced;
      }
      src = src.subarray(consumed);
      if (last ? left === 0 : src.length === 0) break;
    }
    if (last) {
      fs.closeSync(out);
      packed = { hex: hash.digest('hex'), size };
    }
  };
}
const take = (bytes, last) => {
  open.update(bytes);
  compress(bytes, last);
};
take(head, false);
const fd = fs.openSync(path, 'r');
const buffer = Buffer.allocUnsafe(1 << 20);
for (let n; (n = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0; ) take(buffer.subarray(0, n), false);
fs.closeSync(fd);
take(foot, true);
parentPort.postMessage({ open: open.digest('hex'), packed });
`;

interface ThreadResult {
  readonly open: string;
  readonly packed?: { readonly hex: string; readonly size: number };
}

/**
 * The digest of `head`, the file at `file` and `foot` (and with `zstd` their compression),
 * computed on a thread of its own: hashing hundreds of megabytes is the largest piece of work
 * left once the body is written, and the documents are hashed side by side.
 */
function hashInThread(algorithm: DigestAlgorithm, head: Buffer, file: string, foot: Buffer, zstd?: { binding: string; level: number; out: string }): Promise<ThreadResult> {
  return new Promise((resolve, reject) => {
    const worker = startThread(HASH_THREAD, { eval: true, workerData: { algorithm, head, path: file, foot, zstd } });
    let result: ThreadResult | undefined;
    worker.once('message', (message: ThreadResult) => (result = message));
    worker.once('error', reject);
    worker.once('exit', (code) => (result !== undefined ? resolve(result) : reject(new Error(`the hashing thread stopped (exit code ${code}) before its digest`))));
  });
}
