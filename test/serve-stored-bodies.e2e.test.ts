/**
 * Large stored bodies: the content app reads each through two buffers it reuses, body after body
 * (file-response.ts, sendFileRange). What that must not break: concurrent bodies stay byte-exact
 * whatever the clients' pace (a buffer reused while still on a socket would show here), a client
 * that leaves mid-body gives its file descriptor back, and a stored file shorter than its catalog
 * record cuts the response instead of ending it as if complete.
 */
import { readdirSync, readlinkSync, truncateSync } from 'node:fs';
import http from 'node:http';
import type { Host } from '@tributary/core';
import { patternBytes, request, serveFileRepo, sha256Hex, waitFor, type Files, type RunningApp, type ServedFileRepo } from './fixtures/serve/serve-harness';

const FILES: Files = {
  'one.bin': patternBytes(5 * 1024 * 1024 + 3, 11),
  'two.bin': patternBytes(4 * 1024 * 1024 + 1, 12),
  'three.bin': patternBytes(2 * 1024 * 1024 + 5, 13),
};

/** A GET read at the client's own pace: `pauseEvery` bytes it stops reading for `pauseMs`. */
function slowGet(url: string, pauseEvery: number, pauseMs: number): Promise<{ status: number; sha256: string; bytes: number; complete: boolean }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        let sincePause = 0;
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          bytes += chunk.length;
          sincePause += chunk.length;
          if (sincePause >= pauseEvery) {
            sincePause = 0;
            res.pause();
            setTimeout(() => res.resume(), pauseMs);
          }
        });
        res.on('close', () => resolve({ status: res.statusCode!, sha256: sha256Hex(Buffer.concat(chunks)), bytes, complete: res.complete }));
      })
      .on('error', reject);
  });
}

/** How many of this process's file descriptors are open on `file`. */
function openDescriptorsOn(file: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) count++;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}

describe('content app: large stored bodies', () => {
  let repo: ServedFileRepo;
  let host: Host;
  let served: RunningApp;
  let base: string;
  const storedFile = (name: string) => host.storage.pathFor(sha256Hex(FILES[name]!));

  beforeAll(async () => {
    repo = await serveFileRepo(FILES, { policy: 'immediate', homePrefix: 'serve-bodies-' });
    ({ host, served, base } = repo);
  });
  afterAll(() => repo?.close());

  it('twelve bodies at once, read at different paces and in ranges, are each byte-exact', async () => {
    const names = ['one.bin', 'two.bin', 'three.bin'];
    const whole = Array.from({ length: 9 }, (_, i) => {
      const name = names[i % 3]!;
      // some clients stall every 256 KiB, so their buffers wait on full sockets while others finish
      return slowGet(`${base}${name}`, i % 2 === 0 ? 256 * 1024 : 4 * 1024 * 1024, 20).then((got) => ({ name, got }));
    });
    const ranges = [
      ['one.bin', 1_048_575, 3_145_730],
      ['two.bin', 7, 4 * 1024 * 1024],
      ['three.bin', 1_048_576, 2 * 1024 * 1024 + 4],
    ] as const;
    const partial = ranges.map(([name, start, end]) => request(`${base}${name}`, { headers: { range: `bytes=${start}-${end}` } }).then((got) => ({ name, start, end, got })));
    for (const { name, got } of await Promise.all(whole)) {
      expect(got).toEqual({ status: 200, sha256: sha256Hex(FILES[name]!), bytes: FILES[name]!.length, complete: true });
    }
    for (const { name, start, end, got } of await Promise.all(partial)) {
      expect(got.status).toBe(206);
      expect(got.complete).toBe(true);
      expect(got.body.equals(FILES[name]!.subarray(start, end + 1))).toBe(true);
    }
  });

  it('a client that leaves mid-body: its file descriptor is closed, and the next client gets the whole body', async () => {
    const file = storedFile('one.bin');
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${base}one.bin`, { agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          // gone after the first megabyte, with the rest of the body still to send
          if (bytes >= 1024 * 1024) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', (error) => ((error as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(error)));
    });
    await waitFor(() => openDescriptorsOn(file) === 0, 'the stored file closed', 30_000);
    const next = await request(`${base}one.bin`);
    expect(next.complete).toBe(true);
    expect(next.body.equals(FILES['one.bin']!)).toBe(true);
    expect(openDescriptorsOn(file)).toBe(0);
  });

  it('a stored file shorter than its record: the response is cut, not completed, and the error is logged', async () => {
    const name = 'three.bin';
    const first = await request(`${base}${name}`);
    expect(first.complete).toBe(true);
    // damage the store under the app, which knows the file's size already
    truncateSync(storedFile(name), 1024 * 1024 + 10);
    const cut = await request(`${base}${name}`);
    expect(cut.status).toBe(200);
    expect(cut.headers['content-length']).toBe(String(FILES[name]!.length));
    expect(cut.complete).toBe(false);
    expect(cut.body.length).toBeLessThan(FILES[name]!.length);
    expect(cut.body.equals(FILES[name]!.subarray(0, cut.body.length))).toBe(true);
    await waitFor(() => served.events.some((e) => e.level === 'error' && e.message.includes('stored file')), 'the error logged', 30_000);
    const event = served.events.find((e) => e.message.includes('stored file'))!;
    expect(event.fields['path']).toBe(name);
    expect(JSON.stringify(event.fields['error'])).toContain('ended');
  });
});
