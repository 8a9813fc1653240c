import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { sendFileRange } from '../src/serve/file-response';

/**
 * A response whose socket is as slow as the test says: each write is kept, with a copy of its
 * bytes as written, until the test completes it.
 */
class HeldResponse extends EventEmitter {
  destroyed = false;
  ended = false;
  readonly writes: { view: Buffer; asWritten: Buffer; done: boolean; complete: () => void }[] = [];
  holding = true;

  write(view: Buffer, callback: (error?: Error | null) => void): boolean {
    const write = {
      view,
      asWritten: Buffer.from(view),
      done: false,
      complete: () => {
        write.done = true;
        callback(null);
      },
    };
    this.writes.push(write);
    if (!this.holding) setImmediate(write.complete);
    return true;
  }

  end(): void {
    this.ended = true;
  }

  /** The body as written. */
  body(): Buffer {
    return Buffer.concat(this.writes.map((w) => w.asWritten));
  }
}

const CHUNK_MAX = 1024 * 1024;

/** Waits (reads go through the thread pool, at the machine's pace) until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

describe('sendFileRange', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'file-range-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const fileOf = (name: string, bytes: Buffer) => {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    return openSync(file, 'r');
  };

  it('a buffer still on a socket is not handed to the next body', async () => {
    const first = randomBytes(3 * CHUNK_MAX + 17);
    const second = randomBytes(3 * CHUNK_MAX + 5);
    const slow = new HeldResponse();
    const sending = sendFileRange(fileOf('first', first), 0, first.length, slow as unknown as ServerResponse);
    // the socket holds each write until the test completes it: two are out at a time
    await until(() => slow.writes.length === 2);
    slow.writes[0]!.complete();
    await until(() => slow.writes.length === 3);
    slow.writes[1]!.complete();
    await until(() => slow.writes.length === 4);
    await sending;
    expect(slow.ended).toBe(true);
    // the first body's last writes are still on its socket while a second body is sent in full
    const fast = new HeldResponse();
    fast.holding = false;
    await sendFileRange(fileOf('second', second), 0, second.length, fast as unknown as ServerResponse);
    expect(fast.body().equals(second)).toBe(true);
    expect(slow.body().equals(first)).toBe(true);
    // what the slow socket still has to send is what the first body wrote there
    const held = slow.writes.filter((w) => !w.done);
    expect(held).toHaveLength(2);
    for (const write of held) expect(write.view.equals(write.asWritten)).toBe(true);
  });

  it('sends exactly the range asked for, across chunk boundaries', async () => {
    const bytes = randomBytes(2 * CHUNK_MAX + 100);
    const response = new HeldResponse();
    response.holding = false;
    await sendFileRange(fileOf('range', bytes), CHUNK_MAX - 3, CHUNK_MAX + 10, response as unknown as ServerResponse);
    expect(response.body().equals(bytes.subarray(CHUNK_MAX - 3, 2 * CHUNK_MAX + 7))).toBe(true);
    expect(response.ended).toBe(true);
  });

  it('a response that closes stops the body, unended', async () => {
    const bytes = randomBytes(4 * CHUNK_MAX);
    const response = new HeldResponse();
    const sending = sendFileRange(fileOf('closed', bytes), 0, bytes.length, response as unknown as ServerResponse);
    await until(() => response.writes.length === 2);
    response.destroyed = true;
    response.emit('close');
    await sending;
    expect(response.ended).toBe(false);
    expect(response.writes).toHaveLength(2);
  });
});
