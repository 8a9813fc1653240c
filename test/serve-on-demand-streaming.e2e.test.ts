/**
 * How an on-demand body reaches a client while it downloads: every byte upstream delivered so far
 * is passed on (only a body's very last byte waits for the digests), and a client that fell behind
 * what the content app holds in memory gets the rest from the file being written, or from storage
 * once the artifact is stored.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { Host } from '@tributary/core';
import { patternBytes, request, serveFileRepo, sha256Hex, waitFor, type Files, type RunningApp, type ServedFileRepo, type Upstream } from './fixtures/serve/serve-harness';

const MiB = 1024 * 1024;

/** A GET whose body is not read until `resume()`; its bytes so far and, at the end, the outcome. */
function pausedClient(url: string): { received: () => number; resume: () => void; outcome: Promise<{ status: number; complete: boolean; body: Buffer }> } {
  const chunks: Buffer[] = [];
  let received = 0;
  let response: http.IncomingMessage | undefined;
  let resumeWanted = false;
  const outcome = new Promise<{ status: number; complete: boolean; body: Buffer }>((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      response = res;
      res.pause();
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
      });
      let done = false;
      const end = () => {
        if (done) return;
        done = true;
        resolve({ status: res.statusCode!, complete: res.complete, body: Buffer.concat(chunks) });
      };
      res.on('end', end);
      res.on('close', end);
      res.on('error', end);
      if (resumeWanted) res.resume();
    });
    req.on('error', reject);
  });
  return {
    received: () => received,
    resume: () => {
      resumeWanted = true;
      response?.resume();
    },
    outcome,
  };
}

describe('content app: an on-demand body streamed while it downloads', () => {
  let repo: ServedFileRepo;
  let upstream: Upstream;
  let host: Host;
  let served: RunningApp;
  let base: string;
  const files: Files = {
    'gated.bin': patternBytes(4 * MiB + 3, 31),
    'behind.bin': patternBytes(48 * MiB + 5, 32),
    'stored-first.bin': patternBytes(24 * MiB + 7, 33),
  };

  beforeAll(async () => {
    repo = await serveFileRepo(files, { policy: 'on_demand', homePrefix: 'serve-streaming-' });
    ({ upstream, host, served, base } = repo);
    expect((await request(`${base}PULP_MANIFEST`)).status).toBe(200);
  });
  afterAll(() => repo?.close());

  it('a client gets every byte upstream has sent so far, while upstream holds the rest', async () => {
    const body = files['gated.bin']!;
    const sent = 2 * MiB + 1;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    upstream.script('gated.bin', async (res, bytes) => {
      res.write(bytes.subarray(0, sent));
      await gate;
      res.end(bytes.subarray(sent));
    });
    let received = 0;
    const result = request(`${base}gated.bin`, { onData: (bytes) => (received = bytes) });
    // all of them, the last one included: more are due, so the body cannot look complete yet
    await waitFor(() => received >= sent, `the client to have the ${sent} bytes upstream sent`);
    expect(received).toBe(sent);
    release();
    const whole = await result;
    expect({ status: whole.status, complete: whole.complete, length: whole.body.length }).toEqual({ status: 200, complete: true, length: body.length });
    expect(whole.body.equals(body)).toBe(true);
    expect(upstream.count('gated.bin')).toBe(1);
    await waitFor(() => served.access.some((a) => a.path === '/content/repo/gated.bin'), 'the access record');
    const record = served.access.find((a) => a.path === '/content/repo/gated.bin')!;
    expect({ status: record.status, bytes: record.bytes, served: record.served, incomplete: record.incomplete }).toEqual({ status: 200, bytes: body.length, served: 'on-demand', incomplete: undefined });
  });

  it('a client that fell behind the download gets the rest from the file being written', async () => {
    const body = files['behind.bin']!;
    const sent = 40 * MiB;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let handedOver!: () => void;
    const upstreamWrote = new Promise<void>((resolve) => (handedOver = resolve));
    upstream.script('behind.bin', async (res, bytes) => {
      // handed to the kernel: at most a socket buffer's worth has not reached the content app
      res.write(bytes.subarray(0, sent), () => handedOver());
      await gate;
      res.end(bytes.subarray(sent));
    });
    const client = pausedClient(`${base}behind.bin`);
    await upstreamWrote;
    client.resume();
    await waitFor(() => client.received() >= sent, 'the client to catch up with what upstream sent');
    release();
    const { status, complete, body: got } = await client.outcome;
    expect({ status, complete, length: got.length }).toEqual({ status: 200, complete: true, length: body.length });
    expect(got.equals(body)).toBe(true);
    expect(upstream.count('behind.bin')).toBe(1);
  });

  it('a client that reads nothing until the artifact is stored gets it whole from storage', async () => {
    const body = files['stored-first.bin']!;
    const sha = sha256Hex(body);
    const client = pausedClient(`${base}stored-first.bin`);
    await waitFor(async () => existsSync(host.storage.pathFor(sha)) && (await host.store.findArtifacts('sha256', [sha])).length === 1, 'the artifact to be stored');
    client.resume();
    const { status, complete, body: got } = await client.outcome;
    expect({ status, complete, length: got.length }).toEqual({ status: 200, complete: true, length: body.length });
    expect(got.equals(body)).toBe(true);
    expect(upstream.count('stored-first.bin')).toBe(1);
  });
});
