import { randomBytes } from 'node:crypto';
import fs, { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { BOUNDED_WRITES_FS, WRITE_BYTES, writeAll, writeAllSync } from '../src/storage/page-cache-writes.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-page-cache-writes-'));
});
afterEach(async () => {
  jest.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

/** The length argument of each call to a spied fs.write or fs.writeSync. */
function lengthsOf(spy: jest.SpyInstance): number[] {
  return spy.mock.calls.map((call: unknown[]) => call[3] as number);
}

describe('writes bounded to WRITE_BYTES', () => {
  const body = randomBytes(3 * WRITE_BYTES + 12_345);

  test('writeAllSync writes all of a body in calls of WRITE_BYTES at most', async () => {
    const writeSync: jest.SpyInstance = jest.spyOn(fs, 'writeSync');
    const fd = fs.openSync(join(dir, 'sync'), 'w');
    writeAllSync(fd, body);
    fs.closeSync(fd);
    const lengths = lengthsOf(writeSync);
    expect(Math.max(...lengths)).toBe(WRITE_BYTES);
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(body.length);
    expect((await readFile(join(dir, 'sync'))).equals(body)).toBe(true);
  });

  test('writeAll does the same with callback fs, and passes on a failed write', async () => {
    const write: jest.SpyInstance = jest.spyOn(fs, 'write');
    const fd = fs.openSync(join(dir, 'callback'), 'w');
    await new Promise<void>((resolve, reject) => writeAll(fd, body, (error) => (error ? reject(error) : resolve())));
    fs.closeSync(fd);
    expect(Math.max(...lengthsOf(write))).toBe(WRITE_BYTES);
    expect((await readFile(join(dir, 'callback'))).equals(body)).toBe(true);
    const readOnly = fs.openSync(join(dir, 'callback'), 'r');
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => writeAll(readOnly, body, resolve));
    fs.closeSync(readOnly);
    expect(error?.code).toBe('EBADF');
  });

  test('a write stream given BOUNDED_WRITES_FS writes large and queued chunks whole, in write(2) and writev(2) calls of WRITE_BYTES at most', async () => {
    const write: jest.SpyInstance = jest.spyOn(fs, 'write');
    const writev: jest.SpyInstance = jest.spyOn(fs, 'writev');
    const out = createWriteStream(join(dir, 'stream'), { fs: BOUNDED_WRITES_FS, highWaterMark: 16 * WRITE_BYTES });
    const small = randomBytes(50_000);
    // queued behind the first write, the rest goes through writev: still in bounded runs
    out.write(body);
    for (let i = 0; i < 12; i++) out.write(small);
    out.end();
    await finished(out);
    const expected = Buffer.concat([body, ...Array.from({ length: 12 }, () => small)]);
    expect((await readFile(join(dir, 'stream'))).equals(expected)).toBe(true);
    const writeLengths = lengthsOf(write);
    const writevLengths = writev.mock.calls.map((call: unknown[]) => (call[1] as Uint8Array[]).reduce((a, b) => a + b.length, 0));
    expect(writevLengths.length).toBeGreaterThan(1);
    expect(Math.max(...writeLengths, ...writevLengths)).toBe(WRITE_BYTES);
    expect([...writeLengths, ...writevLengths].reduce((a, b) => a + b, 0)).toBe(expected.length);
  });
});
