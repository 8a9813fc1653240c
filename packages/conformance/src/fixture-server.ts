import { once } from 'node:events';
import { createReadStream, promises as fs } from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';
import { FaultPlan, type FaultSpec } from './fixture-faults.js';

export type { FaultSpec } from './fixture-faults.js';

export interface FixtureServerOptions {
  /** Serve the files under this directory (streamed from disk, never buffered whole). */
  readonly root?: string;
  /** Serve these in-memory files, keyed by path relative to the server's root url. */
  readonly files?: Readonly<Record<string, string | Buffer>>;
}

/** One request the fixture server received. Credentials are redacted. */
export interface RecordedRequest {
  readonly method: string;
  /** The request target as sent, query included (`/Packages/a.rpm`). */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * A real HTTP server on 127.0.0.1 serving a fixture repository, whose upstream state and faults a
 * test changes between syncs.
 */
export interface FixtureServer {
  /** Base url with a trailing slash: `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** Every request received, oldest first; `Authorization` and `Proxy-Authorization` are redacted. */
  readonly requests: readonly RecordedRequest[];
  /** Absolute url of a served path. */
  urlFor(relativePath: string): string;
  /** Replaces everything served (the directory included) with these in-memory files. */
  setFiles(files: Readonly<Record<string, string | Buffer>>): void;
  /** Adds or replaces one file. */
  setFile(relativePath: string, body: string | Buffer): void;
  /** Stops serving one file (in-memory or from the directory): it answers 404 from now on. */
  removeFile(relativePath: string): void;
  /** Injects a fault into responses for a path or a glob (`*`, `**`, `?`); the first matching fault wins. */
  fault(target: string, spec: FaultSpec): void;
  /**
   * Removes every fault. Requests already waiting out a `delayMs` go on at once (the rest of their
   * fault, if any, still applies): a test can hold a client with a long delay and let it go.
   */
  clearFaults(): void;
  /** Forgets the recorded requests. */
  clearRequests(): void;
  /** Closes the server and every open connection, stalled ones included. */
  close(): Promise<void>;
}

const REDACTED_HEADERS = new Set(['authorization', 'proxy-authorization']);

/**
 * Starts a fixture HTTP server on 127.0.0.1 on a free port.
 *
 * @example
 * ```ts
 * const server = await startFixtureServer({ files: { PULP_MANIFEST: 'a.txt,<sha256>,3\n', 'a.txt': 'abc' } });
 * server.fault('a.txt', { status: 500, times: 2 });   // two 500s, then the file
 * await sync(server.urlFor('PULP_MANIFEST'));
 * await server.close();
 * ```
 */
export async function startFixtureServer(options: FixtureServerOptions = {}): Promise<FixtureServer> {
  const root = options.root === undefined ? undefined : await fs.realpath(options.root);
  let rootServed = root !== undefined;
  const memory = new Map<string, Buffer>();
  const hidden = new Set<string>();
  const faults = new FaultPlan();
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  // pending delayed answers, each with what ends its wait; clearFaults() ends them at once, close()
  // drops them so no timer outlives the server
  const delays = new Map<NodeJS.Timeout, () => void>();

  const setFile = (relativePath: string, body: string | Buffer) => {
    const key = normaliseKey(relativePath);
    memory.set(key, typeof body === 'string' ? Buffer.from(body) : body);
    hidden.delete(key);
  };
  for (const [name, body] of Object.entries(options.files ?? {})) setFile(name, body);

  /** The bytes to serve for a decoded path: in memory, or a regular file inside the root. */
  async function lookup(key: string): Promise<{ size: number; buffer?: Buffer; file?: string } | undefined> {
    const buffer = memory.get(key);
    if (buffer) return { size: buffer.length, buffer };
    if (!root || !rootServed || hidden.has(key)) return undefined;
    try {
      const file = await fs.realpath(path.join(root, key));
      // a symlink leading out of the root is refused like any traversal
      if (!file.startsWith(root + path.sep)) return undefined;
      const stat = await fs.stat(file);
      return stat.isFile() ? { size: stat.size, file } : undefined;
    } catch {
      return undefined;
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    requests.push({ method: req.method ?? 'GET', path: target, headers: redact(req.headers) });
    const key = decodeTarget(target);
    if (key === undefined) return sendText(res, 403, 'refused: the path is unsafe\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'method not allowed\n');

    const fault = faults.take(key);
    if (fault?.delayMs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          delays.delete(timer);
          resolve();
        }, fault.delayMs);
        delays.set(timer, resolve);
      });
    }
    if (fault?.stall) return; // the socket stays open until the client or close() ends it
    if (fault?.status !== undefined) return sendText(res, fault.status, `fault injected: status ${fault.status}\n`);

    const replaced = fault?.body === undefined ? undefined : Buffer.from(fault.body);
    const content = replaced ? { size: replaced.length, buffer: replaced } : await lookup(key);
    if (!content) return sendText(res, 404, `not found: /${key}\n`);

    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(content.size) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const cut = fault?.resetAfterBytes ?? fault?.truncateTo ?? fault?.stallAfterBytes;
    const limit = cut === undefined ? content.size : Math.min(cut, content.size);
    await writeBody(res, content, limit);
    if (fault?.resetAfterBytes !== undefined) res.socket?.resetAndDestroy();
    else if (fault?.truncateTo !== undefined) res.socket?.end();
    else if (fault?.stallAfterBytes === undefined) res.end();
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendText(res, 500, `fixture server error: ${String(error)}\n`);
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fixture server has no TCP address');
  const url = `http://127.0.0.1:${address.port}/`;

  return {
    url,
    requests,
    urlFor: (relativePath) => new URL(normaliseKey(relativePath), url).href,
    setFiles(files) {
      memory.clear();
      hidden.clear();
      rootServed = false;
      for (const [name, body] of Object.entries(files)) setFile(name, body);
    },
    setFile,
    removeFile(relativePath) {
      const key = normaliseKey(relativePath);
      memory.delete(key);
      hidden.add(key);
    },
    fault: (target, spec) => faults.add(target, spec),
    clearFaults() {
      faults.clear();
      for (const [timer, resolve] of delays) {
        clearTimeout(timer);
        resolve();
      }
      delays.clear();
    },
    clearRequests: () => void requests.splice(0),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const timer of delays.keys()) clearTimeout(timer);
      delays.clear();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** Writes the first `limit` bytes of the content, streaming files and honouring back-pressure. */
async function writeBody(res: http.ServerResponse, content: { buffer?: Buffer; file?: string }, limit: number): Promise<void> {
  if (limit === 0) return;
  if (content.buffer) {
    await writeChunk(res, content.buffer.subarray(0, limit));
    return;
  }
  const stream = createReadStream(content.file as string, { start: 0, end: limit - 1 });
  try {
    for await (const chunk of stream) {
      if (res.destroyed) return;
      await writeChunk(res, chunk as Buffer);
    }
  } finally {
    stream.destroy();
  }
}

function writeChunk(res: http.ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    // resolves once the chunk is handed to the socket, so a following reset does not race it,
    // or once the client went away, so a disconnected download does not keep its file open
    const done = () => {
      res.off('close', done);
      resolve();
    };
    res.once('close', done);
    res.write(chunk, done);
  });
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

function normaliseKey(relativePath: string): string {
  return relativePath.replace(/^\/+/, '');
}

/**
 * The decoded path of a request target without its leading slash, or undefined when it is unsafe:
 * undecodable, or with `..`/`.` segments, backslashes or NUL, before or after decoding.
 */
function decodeTarget(target: string): string | undefined {
  const rawPath = target.split('?')[0] as string;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  for (const candidate of [rawPath, decoded]) {
    if (candidate.includes('\0') || candidate.includes('\\')) return undefined;
    if (candidate.split('/').some((segment) => segment === '..' || segment === '.')) return undefined;
  }
  return normaliseKey(decoded);
}

function redact(headers: http.IncomingHttpHeaders): Record<string, string | string[] | undefined> {
  const copy: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(headers)) copy[name] = REDACTED_HEADERS.has(name) ? '[redacted]' : value;
  return copy;
}
