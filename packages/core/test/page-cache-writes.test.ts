import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WRITE_BYTES, writeAllSync } from '../src/storage/page-cache-writes.js';

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
});
