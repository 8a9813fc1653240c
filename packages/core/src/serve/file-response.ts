import { close as closeFd, open as openFd, read as readFd } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Bodies up to this size are read whole and sent in one write: cheaper than a stream. */
const SMALL_BODY = 128 * 1024;
/** The smallest chunk of a stored body. */
const READ_CHUNK = 64 * 1024;
/** The largest chunk of a stored body: fewer, larger reads and socket writes when few bodies stream. */
const MAX_READ_CHUNK = 1024 * 1024;
/**
 * Read buffers of the stored bodies streaming at once, beyond the smallest chunks: each slow
 * client holds about two chunks (one read ahead, one on its socket), so a body gets a larger
 * chunk only while the sum stays under this, and memory stays bounded however many clients come.
 */
const STREAM_BUDGET = 16 * 1024 * 1024;
/** Bytes of STREAM_BUDGET the bodies streaming now hold (two chunks each, above READ_CHUNK). */
let streamBuffers = 0;

/** The chunk for one more stored body (a power of two from READ_CHUNK to MAX_READ_CHUNK) and what it takes of the budget. */
function chunkForNextStream(): { chunk: number; held: number } {
  let chunk = MAX_READ_CHUNK;
  while (chunk > READ_CHUNK && streamBuffers + 2 * chunk > STREAM_BUDGET) chunk /= 2;
  const held = chunk > READ_CHUNK ? 2 * chunk : 0;
  streamBuffers += held;
  return { chunk, held };
}

/** Read buffers the finished bodies gave back, by size, for the next ones (at most STREAM_BUDGET bytes kept). */
const spareBuffers = new Map<number, Buffer[]>();
let spareBytes = 0;

function takeBuffer(size: number): Buffer {
  const buffer = spareBuffers.get(size)?.pop();
  if (buffer === undefined) return Buffer.allocUnsafeSlow(size);
  spareBytes -= size;
  return buffer;
}

function giveBack(buffer: Buffer): void {
  if (spareBytes + buffer.length > STREAM_BUDGET) return;
  let list = spareBuffers.get(buffer.length);
  if (list === undefined) spareBuffers.set(buffer.length, (list = []));
  list.push(buffer);
  spareBytes += buffer.length;
}

export interface CachedFile {
  readonly size: number;
  readonly mtime: Date;
  /** `mtime` as Last-Modified says it. */
  readonly lastModified: string;
  /** The whole body, for files small enough to keep. */
  readonly body: Buffer | undefined;
}

/**
 * What the content app knows about stored files: stored bytes never change (they are named by
 * their sha256), so a file's size and time are looked up once, and small files are kept whole in
 * memory (least recently used first out, up to `maxBytes`): a request for one then costs no
 * file-system call at all.
 */
export class StoredFileCache {
  private readonly files = new Map<string, CachedFile>();
  private bytes = 0;

  constructor(
    private readonly maxBytes = 64 * 1024 * 1024,
    private readonly maxBody = 64 * 1024,
    private readonly maxFiles = 100_000,
  ) {}

  async lookup(sha256: string, file: string): Promise<CachedFile> {
    const hit = this.peek(sha256);
    if (hit) return hit;
    const info = await stat(file);
    const body = info.size <= this.maxBody && this.maxBytes > 0 ? await readSlice(file, 0, info.size) : undefined;
    const entry: CachedFile = { size: info.size, mtime: info.mtime, lastModified: info.mtime.toUTCString(), body: body?.length === info.size ? body : undefined };
    this.files.set(sha256, entry);
    this.bytes += entry.body?.length ?? 0;
    while (this.files.size > this.maxFiles || this.bytes > this.maxBytes) {
      const [oldest, evicted] = this.files.entries().next().value as [string, CachedFile];
      this.files.delete(oldest);
      this.bytes -= evicted.body?.length ?? 0;
    }
    return entry;
  }

  /** What is known of a stored file without a file-system call, if anything. */
  peek(sha256: string): CachedFile | undefined {
    const hit = this.files.get(sha256);
    if (hit) {
      // the least recently used is evicted first
      this.files.delete(sha256);
      this.files.set(sha256, hit);
    }
    return hit;
  }

  /** Forgets a file (its bytes were found missing). */
  forget(sha256: string): void {
    const entry = this.files.get(sha256);
    if (!entry) return;
    this.files.delete(sha256);
    this.bytes -= entry.body?.length ?? 0;
  }
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.rpm': 'application/x-rpm',
  '.xml': 'application/xml',
  '.gz': 'application/gzip',
  '.xz': 'application/x-xz',
  '.bz2': 'application/x-bzip2',
  '.zst': 'application/zstd',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.iso': 'application/x-iso9660-image',
  '.tar': 'application/x-tar',
  '.asc': 'text/plain; charset=utf-8',
  '.sqlite': 'application/vnd.sqlite3',
};

export function contentTypeOf(relativePath: string): string {
  if (path.posix.basename(relativePath) === 'PULP_MANIFEST') return 'text/plain; charset=utf-8';
  return CONTENT_TYPES[path.posix.extname(relativePath).toLowerCase()] ?? 'application/octet-stream';
}

export type ByteRange = { readonly start: number; readonly end: number };

/**
 * The single range a `Range` header asks for within `size` bytes: undefined to send the whole body
 * (no header, several ranges, or a unit other than bytes), 'unsatisfiable' for a 416.
 */
export function requestedRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first, last] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || (last !== '' && Number(last) < start)) return 'unsatisfiable';
  return { start, end };
}

export interface StoredFile {
  readonly file: string;
  readonly sha256: string;
  readonly relativePath: string;
}

/** The headers of every answer with a stored file's bytes (Content-Length apart: a range or a 304 changes it). */
export function storedFileHeaders(sha256: string, info: CachedFile, relativePath: string): Record<string, string> {
  return { etag: `"${sha256}"`, 'last-modified': info.lastModified, 'accept-ranges': 'bytes', 'content-type': contentTypeOf(relativePath) };
}

/**
 * Answers with a stored file: ETag (its sha256), Last-Modified, Content-Type, Accept-Ranges,
 * conditional requests (304) and a single byte range (206, or 416 beyond the end).
 */
export async function sendStoredFile(
  request: FastifyRequest,
  reply: FastifyReply,
  stored: StoredFile,
  cache: StoredFileCache,
  onCutShort: (error: Error) => void = () => undefined,
): Promise<FastifyReply> {
  const info = await cache.lookup(stored.sha256, stored.file);
  const size = info.size;
  const etag = `"${stored.sha256}"`;
  reply.headers(storedFileHeaders(stored.sha256, info, stored.relativePath));
  if (notModified(request, etag, info.mtime)) return reply.code(304).send();
  const ifRange = request.headers['if-range'];
  const range = ifRange === undefined || ifRange === etag ? requestedRange(request.headers.range, size) : undefined;
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${size}`);
    return reply.code(416).type('text/plain; charset=utf-8').send(`range not satisfiable: the file has ${size} bytes\n`);
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  const length = Math.max(0, end - start + 1);
  if (range) {
    reply.code(206);
    reply.header('content-range', `bytes ${start}-${end}/${size}`);
  }
  reply.header('content-length', length);
  if (request.method === 'HEAD') return reply.send();
  if (info.body !== undefined) return reply.send(range ? info.body.subarray(start, end + 1) : info.body);
  if (length <= SMALL_BODY) return reply.send(await readSlice(stored.file, start, length));
  // opened before the response begins: a file gone missing is still the caller's to answer
  const fd = await new Promise<number>((resolve, reject) => openFd(stored.file, 'r', (error, opened) => (error ? reject(error) : resolve(opened))));
  // written here rather than piped through fastify: see sendFileRange
  reply.hijack();
  const response = reply.raw;
  response.writeHead(reply.statusCode, reply.getHeaders() as Record<string, string | number>);
  await sendFileRange(fd, start, length, response).catch((error: Error) => {
    response.destroy();
    onCutShort(error);
  });
  return reply;
}

/**
 * Sends `length` bytes of the open file `fd` from `start` on `response`, ends the response and
 * closes `fd`. Two buffers carry the whole body, one read into while the other is on the socket,
 * and go to the next body after: a new buffer for every read, as a file stream makes, is memory
 * outside V8's heap that sets off full collections as fast as bytes go out. A response that
 * closes early stops it quietly.
 */
export async function sendFileRange(fd: number, start: number, length: number, response: ServerResponse): Promise<void> {
  const { chunk, held } = chunkForNextStream();
  const buffers = [takeBuffer(chunk), takeBuffer(chunk)] as const;
  // whether each buffer's last write has completed (false: the response went away first)
  const written: [Promise<boolean>, Promise<boolean>] = [Promise.resolve(true), Promise.resolve(true)];
  const gone = new Promise<false>((resolve) => response.once('close', () => resolve(false)));
  let position = start;
  let left = length;
  let turn = 0;
  try {
    while (left > 0) {
      if (!(await Promise.race([written[turn]!, gone])) || response.destroyed) return;
      const buffer = buffers[turn]!;
      const got = await readAt(fd, buffer, Math.min(chunk, left), position);
      if (got === 0) throw new Error(`the stored file ended ${left} bytes before the ${length} the response promised`);
      position += got;
      left -= got;
      const view = got === buffer.length ? buffer : buffer.subarray(0, got);
      written[turn] = new Promise<boolean>((resolve) => response.write(view, (error) => resolve(!error)));
      turn ^= 1;
    }
    response.end();
  } finally {
    streamBuffers -= held;
    closeFd(fd, () => undefined);
    // a buffer goes back only once the socket is done with it
    for (const [i, buffer] of buffers.entries()) void Promise.race([written[i]!, gone]).then((done) => done && giveBack(buffer));
  }
}

function readAt(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => readFd(fd, buffer, 0, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))));
}

function notModified(request: FastifyRequest, etag: string, mtime: Date): boolean {
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch.split(',').some((tag) => {
      const t = tag.trim();
      return t === '*' || t === etag || t === `W/${etag}`;
    });
  }
  const since = request.headers['if-modified-since'];
  if (since === undefined) return false;
  const time = Date.parse(since);
  return !Number.isNaN(time) && Math.floor(mtime.getTime() / 1000) * 1000 <= time;
}

async function readSlice(file: string, start: number, length: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, done, length - done, start + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === length ? buffer : buffer.subarray(0, done);
  } finally {
    await handle.close();
  }
}
