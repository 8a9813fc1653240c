import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, isTributaryError } from '@tributary/plugin-api';
import { Downloader } from '../src/download/index';
import { ArtifactStorage } from '../src/storage/artifact-storage';
import type { HashingFileStream } from '../src/storage/hashing-file-stream';
import { SmallFileWriter } from '../src/storage/small-file-writer';
import { FaultServer } from './support/download-fault-server';

const hash = (algorithm: string, data: Buffer | string): string => createHash(algorithm).update(data).digest('hex');

let dir: string;
const closers: (() => Promise<void>)[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-hashing-stream-'));
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await rm(dir, { recursive: true, force: true });
});

/** Writes `chunks` honouring back-pressure; how often `write` asked to pause. */
async function feed(stream: HashingFileStream, chunks: readonly Buffer[]): Promise<number> {
  let pauses = 0;
  for (const chunk of chunks) {
    if (!stream.write(chunk)) {
      pauses++;
      await new Promise<void>((resume) => stream.onDrain(resume));
    }
  }
  return pauses;
}

function cut(body: Buffer, sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0, i = 0; offset < body.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(body.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

/** The writer thread, and the same without its script: every behaviour must hold for both. */
const variants: [string, () => SmallFileWriter][] = [
  ['on its thread', () => new SmallFileWriter()],
  ['without the thread (a write stream here)', () => new SmallFileWriter({ script: null })],
  ['on two threads', () => new SmallFileWriter({ threads: 2 })],
];

describe.each(variants)('SmallFileWriter streams %s', (_name, make) => {
  const writer = async (): Promise<SmallFileWriter> => {
    const created = make();
    closers.push(() => created.close());
    await created.start();
    return created;
  };

  test('a stream holds every byte written, hashed with sha256 and the algorithms asked for, and reports its progress in order', async () => {
    const w = await writer();
    const body = randomBytes(3 * 1024 * 1024 + 12_345);
    const written: number[] = [];
    const errors: Error[] = [];
    const stream = w.stream(join(dir, 'big'), ['md5', 'sha1'], { onWritten: (bytes) => written.push(bytes), onError: (error) => errors.push(error) });
    await feed(stream, cut(body, [65_536, 1, 300_000, 16_384, 7]));
    const digests = await stream.end();
    expect(digests).toEqual({ sha256: hash('sha256', body), md5: hash('md5', body), sha1: hash('sha1', body) });
    expect(readFileSync(join(dir, 'big')).equals(body)).toBe(true);
    expect(written.length).toBeGreaterThan(0);
    expect(written.every((bytes, i) => i === 0 || bytes >= written[i - 1]!)).toBe(true);
    expect(written.at(-1)).toBe(body.length);
    expect(errors).toEqual([]);
  });

  test('a body that trickles in is reported on disk chunk by chunk, without waiting for more', async () => {
    const w = await writer();
    const chunks = Array.from({ length: 50 }, () => randomBytes(1000));
    let reported = 0;
    let waiting: { bytes: number; resolve: () => void } | undefined;
    const stream = w.stream(join(dir, 'trickle'), [], {
      onWritten: (bytes) => {
        reported = bytes;
        if (waiting !== undefined && bytes >= waiting.bytes) waiting.resolve();
      },
      onError: () => undefined,
    });
    let total = 0;
    for (const chunk of chunks) {
      stream.write(chunk);
      total += chunk.length;
      if (reported < total) await new Promise<void>((resolve) => (waiting = { bytes: total, resolve }));
    }
    expect((await stream.end()).sha256).toBe(hash('sha256', Buffer.concat(chunks)));
    expect(readFileSync(join(dir, 'trickle')).equals(Buffer.concat(chunks))).toBe(true);
  });

  test('bytes waiting for the disk are bounded: write asks its source to pause, and onDrain lets it go on', async () => {
    const w = await writer();
    const body = randomBytes(8 * 1024 * 1024);
    const stream = w.stream(join(dir, 'bounded'), [], { onError: () => undefined });
    // written in one go, as a source that ignored the answer would: the stream says to pause
    let pauses = 0;
    for (const chunk of cut(body, [65_536])) if (!stream.write(chunk)) pauses++;
    expect(pauses).toBeGreaterThan(0);
    await new Promise<void>((resume) => stream.onDrain(resume));
    expect((await stream.end()).sha256).toBe(hash('sha256', body));
    expect(readFileSync(join(dir, 'bounded')).equals(body)).toBe(true);
  });

  test('many streams at once, more than the memory shared with the thread holds, each get their own bytes', async () => {
    const w = await writer();
    const bodies = Array.from({ length: 24 }, (_, i) => randomBytes(1024 * 1024 + i * 4099));
    const streams = bodies.map((_, i) => w.stream(join(dir, `s${i}`), [], { onError: () => undefined }));
    await Promise.all(streams.map((stream, i) => feed(stream, cut(bodies[i]!, [40_000, 90_000]))));
    const digests = await Promise.all(streams.map((stream) => stream.end()));
    bodies.forEach((body, i) => {
      expect(digests[i]!.sha256).toBe(hash('sha256', body));
      expect(readFileSync(join(dir, `s${i}`)).equals(body)).toBe(true);
    });
  });

  test('destroy removes the file; a stream that cannot create its file reports the errno and ends in it', async () => {
    const w = await writer();
    const kept = w.stream(join(dir, 'dropped'), [], { onError: () => undefined });
    await feed(kept, [randomBytes(600_000)]);
    await kept.destroy();
    expect(existsSync(join(dir, 'dropped'))).toBe(false);

    const errors: Error[] = [];
    const broken = w.stream(join(dir, 'missing', 'file'), [], { onError: (error) => errors.push(error) });
    broken.write(randomBytes(300_000));
    const failure = await broken.end().then(
      () => undefined,
      (error: NodeJS.ErrnoException) => error,
    );
    expect(failure?.code).toBe('ENOENT');
    await broken.destroy();
    expect(readdirSync(dir)).toEqual([]);
  });

  test('writeHashed writes a body whose digests match, and nothing of one whose digests do not', async () => {
    const w = await writer();
    const body = randomBytes(200_000);
    const good = await w.writeHashed(join(dir, 'good'), body, { sha256: hash('sha256', body), md5: hash('md5', body) });
    expect(good).toEqual({ digests: { sha256: hash('sha256', body), md5: hash('md5', body) }, written: true });
    expect(readFileSync(join(dir, 'good')).equals(body)).toBe(true);
    const bad = await w.writeHashed(join(dir, 'bad'), body, { sha256: hash('sha256', body), sha1: hash('sha1', 'other') });
    expect(bad).toEqual({ digests: { sha256: hash('sha256', body), sha1: hash('sha1', body) }, written: false });
    expect(existsSync(join(dir, 'bad'))).toBe(false);
  });
});

test('a writer thread that dies under a stream fails the stream, and destroying it still removes the file', async () => {
  const script = join(dir, 'dying-writer-thread.js');
  writeFileSync(script, "require('node:worker_threads').parentPort.on('message', () => process.exit(3));");
  const w = new SmallFileWriter({ script, startAfter: 0 });
  closers.push(() => w.close());
  await w.start();
  const errors: Error[] = [];
  const stream = w.stream(join(dir, 'orphan'), [], { onError: (error) => errors.push(error) });
  stream.write(randomBytes(300_000));
  writeFileSync(join(dir, 'orphan'), 'what the thread had written');
  await expect(stream.end()).rejects.toThrow();
  expect(errors.length).toBe(1);
  await stream.destroy();
  expect(existsSync(join(dir, 'orphan'))).toBe(false);
});

describe('ArtifactStorage with the writer thread hashing', () => {
  const started = async (): Promise<ArtifactStorage> => {
    const writer = new SmallFileWriter();
    await writer.start();
    const storage = new ArtifactStorage(join(dir, 'storage'), writer);
    closers.push(() => storage.close());
    await storage.init();
    await storage.createScope('sync-1');
    return storage;
  };

  test('stageBody stages a matching body beside its content address and leaves nothing of one that does not match', async () => {
    const storage = await started();
    const body = randomBytes(300_000);
    const staged = await storage.stageBody('sync-1', body, { sha256: hash('sha256', body) });
    expect(staged.digests.sha256).toBe(hash('sha256', body));
    expect(staged.file?.startsWith(`${storage.pathFor(hash('sha256', body))}.`)).toBe(true);
    expect(readFileSync(staged.file!).equals(body)).toBe(true);

    const other = randomBytes(1000);
    const refused = await storage.stageBody('sync-1', other, { sha256: hash('sha256', 'expected') });
    expect(refused).toEqual({ digests: { sha256: hash('sha256', other) } });
    expect(readdirSync(join(storage.root, 'artifacts'), { recursive: true }).filter((name) => String(name).endsWith('.part'))).toEqual([
      expect.stringContaining(hash('sha256', body)),
    ]);
  });

  test('streamTempFile refuses a path outside the scratch area', async () => {
    const storage = await started();
    let refused: unknown;
    try {
      storage.streamTempFile(join(storage.root, 'artifacts', 'x'), [], { onError: () => undefined });
    } catch (error) {
      refused = error;
    }
    expect(isTributaryError(refused, ErrorCodes.PATH_UNSAFE)).toBe(true);
    expect(existsSync(join(storage.root, 'artifacts', 'x'))).toBe(false);
  });
});

/** A writer whose thread (if it has one) runs before the first request, so streams go to it. */
async function running(writer: SmallFileWriter): Promise<SmallFileWriter> {
  await writer.start();
  return writer;
}

describe.each([
  ['on the writer thread', () => running(new SmallFileWriter({ startAfter: 0 }))],
  ['without the writer thread', () => running(new SmallFileWriter({ script: null }))],
])('Downloader with bodies written and hashed %s', (_name, writer) => {
  test('a large body reports its bytes on disk as they land, starts over at a lower count after a reset, and is verified whole', async () => {
    const server = await FaultServer.start();
    closers.push(() => server.close());
    const body = randomBytes(3 * 1024 * 1024 + 99);
    let firstAttemptSeen: () => void = () => undefined;
    const seen = new Promise<void>((resolve) => (firstAttemptSeen = resolve));
    server.route('/big.bin', (_req, res, hit) => {
      res.writeHead(200, { 'content-length': body.length });
      if (hit > 1) return void res.end(body);
      // half the body, then, once the client says part of it is on disk, a reset
      res.write(body.subarray(0, body.length >> 1));
      void seen.then(() => res.socket?.resetAndDestroy());
    });
    const storage = new ArtifactStorage(join(dir, 'storage'), await writer());
    closers.push(() => storage.close());
    await storage.init();
    await storage.createScope('sync-d');
    const downloader = new Downloader(storage, 'sync-d', { retries: 2, backoffMs: 1 });
    closers.push(() => downloader.close());
    const progress: number[] = [];
    const file = await downloader.download(server.url('/big.bin'), { size: body.length, digests: { sha256: hash('sha256', body) } }, undefined, {
      onDisk: (bytes, path) => {
        expect(path.startsWith(join(storage.root, 'tmp', 'sync-d'))).toBe(true);
        progress.push(bytes);
        if (bytes >= 1024 * 1024) firstAttemptSeen();
      },
    });
    expect(readFileSync(file.path).equals(body)).toBe(true);
    expect(server.hitsOf('/big.bin')).toBe(2);
    const restart = progress.findIndex((bytes, i) => i > 0 && bytes < progress[i - 1]!);
    expect(restart).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(body.length);
  });

  test('a large body whose digest does not match is TRIBUTARY_ERR_DIGEST_MISMATCH and leaves nothing in the scope', async () => {
    const server = await FaultServer.start();
    closers.push(() => server.close());
    const body = randomBytes(2 * 1024 * 1024);
    server.route('/big.bin', (_req, res) => res.writeHead(200, { 'content-length': body.length }).end(body));
    const storage = new ArtifactStorage(join(dir, 'storage'), await writer());
    closers.push(() => storage.close());
    await storage.init();
    const scope = await storage.createScope('sync-m');
    const downloader = new Downloader(storage, 'sync-m', { retries: 0 });
    closers.push(() => downloader.close());
    const wrong = hash('sha256', 'not this');
    const error = await downloader.download(server.url('/big.bin'), { size: body.length, digests: { sha256: wrong } }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isTributaryError(error, ErrorCodes.DIGEST_MISMATCH)).toBe(true);
    expect(readdirSync(scope)).toEqual([]);
  });
});
