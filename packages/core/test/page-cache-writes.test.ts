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

  test('a write stream given BOUNDED_WRITES_FS writes large and queued chunks whole, in calls of WRITE_BYTES at most', async () => {
    const write: jest.SpyInstance = jest.spyOn(fs, 'write');
    const out = createWriteStream(join(dir, 'stream'), { fs: BOUNDED_WRITES_FS, highWaterMark: 4 * WRITE_BYTES });
    const small = randomBytes(1000);
    // queued behind the first write: without writev they are not joined into one call
    out.write(body);
    for (let i = 0; i < 10; i++) out.write(small);
    out.end();
    await finished(out);
    const expected = Buffer.concat([body, ...Array.from({ length: 10 }, () => small)]);
    expect((await readFile(join(dir, 'stream'))).equals(expected)).toBe(true);
    // every byte went through a bounded write(2): none through writev
    const lengths = lengthsOf(write);
    expect(Math.max(...lengths)).toBe(WRITE_BYTES);
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(expected.length);
  });
});
