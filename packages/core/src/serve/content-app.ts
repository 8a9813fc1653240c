import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ErrorCodes, isTributaryError, TributaryError } from '@tributary/plugin-api';
import type { RemoteOptions } from '../download/index.js';
import type { Host } from '../host/host.js';
import { OnDemandArtifacts } from '../publish/on-demand-artifacts.js';
import type { PublicationEntry } from '../store/content-store.js';
import { ContentResolver, errorFields, type Served } from './content-resolver.js';
import { listingPage, listDirectory } from './directory-listing.js';
import { contentTypeOf, sendStoredFile, StoredFileCache, storedFileHeaders } from './file-response.js';
import { sendFollowing } from './following-body.js';
import { CONTENT_PREFIX, parseContentPath } from './request-path.js';

/** Where the content app writes its access log and its warnings. */
export interface ServeLog {
  /** One finished request. */
  access(record: AccessRecord): void;
  /** Something an operator should see (a failed on-demand fetch, a version that cannot be published). */
  event(level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string): void;
}

export interface AccessRecord {
  readonly time: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly bytes: number | null;
  readonly ms: number;
  readonly remote: string;
  /** 'stored' | 'on-demand' | 'listing' … when the request reached content. */
  readonly served?: string;
  /** Set when the response was cut short (a failed on-demand fetch, a client gone). */
  readonly incomplete?: true;
}

export interface ContentAppOptions {
  /** Settings for on-demand fetches (TLS, proxy, credentials: never logged). */
  readonly remote?: RemoteOptions;
  readonly log?: ServeLog;
  /** How long distribution and repository lookups are cached (ms; default 1000). */
  readonly cacheTtlMs?: number;
  /** Memory for small stored files kept whole (bytes; default 64 MiB, 0 turns it off). */
  readonly memoryCacheBytes?: number;
  /**
   * Answer a plain GET/HEAD of a stored file whose lookups are all cached before fastify routes it
   * (default false). Hooks added to `server` do not run for those requests: leave it off when a
   * hook must see every request (authentication, say). `tributary serve` turns it on.
   */
  readonly fastPath?: boolean;
}

export interface ContentApp {
  readonly server: FastifyInstance;
  readonly onDemand: OnDemandArtifacts;
  /** Stops accepting requests, lets in-flight responses finish, then waits for on-demand fetches. */
  close(): Promise<void>;
}

/** How long a request for a path the served publication lacks waits for the one being built. */
const NEWER_WAIT_MS = 30_000;

const SILENT_LOG: ServeLog = { access: () => undefined, event: () => undefined };

declare module 'fastify' {
  interface FastifyRequest {
    tributaryServed?: string;
  }
}

/**
 * The content app: `GET` and `HEAD` of `/content/<base-path>/<relative-path>` answered from the
 * publication the distribution serves now — stored bytes streamed from storage, missing bytes
 * fetched on demand (once for all concurrent requests), verified, stored and streamed as they
 * arrive — plus HTML listings of directories. Call `server.listen()` to serve.
 */
export function createContentApp(host: Host, options: ContentAppOptions = {}): ContentApp {
  const log = options.log ?? SILENT_LOG;
  const onDemand = new OnDemandArtifacts(host.store, host.storage, options.remote ?? {}, (entry, record) => {
    log.event('info', { path: entry.path, sha256: record.sha256, size: record.size }, 'fetched on demand and stored');
    host.emit('artifact.fetched', { via: 'serve', path: entry.path, sha256: record.sha256, size: record.size, unitId: entry.unitId });
  });
  const resolver = new ContentResolver(host.store, host.publications, { warn: (fields, message) => log.event('warn', fields, message) }, options.cacheTtlMs ?? 1000);
  const files = new StoredFileCache(options.memoryCacheBytes ?? 64 * 1024 * 1024);
  let closing = false;
  const fastPath = options.fastPath ?? false;
  const server = Fastify({
    logger: false,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 16_384 },
    // the most common request, a stored file whose every lookup is cached, is answered before
    // fastify sees it: routing, hooks and reply objects cost more than the answer itself
    serverFactory: (handler) => createServer((request, response) => {
      if (!fastPath || closing || !answeredFromCache(request, response)) handler(request, response);
    }),
  });

  // logged when the connection is done with the response, so a response cut short is logged too
  server.addHook('onRequest', (request, reply, done) => {
    logWhenDone(request.raw, reply.raw, () => reply.getHeader('content-length'), () => request.tributaryServed);
    done();
  });

  server.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status >= 500) log.event('error', { path: request.url, error: errorFields(error) }, 'request failed');
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    void reply.code(status).type('text/plain; charset=utf-8').send(status >= 500 ? `server error: ${isTributaryError(error) ? error.code : 'internal'}\n` : `${error.message}\n`);
  });

  server.setNotFoundHandler((request, reply) => {
    void reply.code(404).type('text/plain; charset=utf-8').send(`not found: ${request.url.slice(0, 200)}\n`);
  });

  server.get('/', async (_request, reply) => reply.redirect(CONTENT_PREFIX, 302));

  server.route({
    method: ['GET', 'HEAD'],
    url: '/content*',
    handler: (request, reply) => handle(request, reply),
  });

  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const parsed = parseContentPath(request.raw.url ?? '/');
    if (!parsed.ok) return plain(reply, parsed.status, `${parsed.status === 404 ? 'not found' : 'bad request path'}: ${parsed.reason}\n`);
    const { segments, directory } = parsed.path;
    const found = await resolver.distributionFor(segments);
    if (!found) {
      const children = await resolver.basePathChildren(segments);
      if (children.length === 0) return plain(reply, 404, 'not found: no distribution has this base path\n');
      if (!directory) return reply.redirect(`${request.raw.url!.split('?')[0]}/`, 301);
      request.tributaryServed = 'listing';
      return html(reply, request, listingPage(`/content/${segments.map((s) => `${s}/`).join('')}`, children.map((c) => `${c}/`), [], false));
    }
    let served: Served | undefined;
    try {
      served = await resolver.served(found.distribution);
    } catch (error) {
      return plain(reply, 503, `distribution '${found.distribution.name}' cannot be served now: ${isTributaryError(error) ? `${error.code}: ${error.message}` : 'publishing failed'}\n`);
    }
    if (!served) return plain(reply, 404, `not found: the repository of distribution '${found.distribution.name}' no longer exists\n`);
    const relative = found.rest.join('/');
    if (!directory && relative.length > 0) {
      let entry = await resolver.entry(served.publication.id, relative);
      if (!entry && served.newer) {
        // a path the previous version lacks may be new: wait (a while) for the new publication
        const newer = await Promise.race([served.newer.catch(() => undefined), sleep(NEWER_WAIT_MS)]);
        if (newer) {
          served = { ...served, publication: newer };
          entry = await resolver.entry(newer.id, relative);
        }
      }
      if (entry) return sendEntry(request, reply, served, entry);
    }
    const prefix = relative.length > 0 ? `${relative}/` : '';
    const listing = await listDirectory(host.store, served.publication.id, prefix);
    if (listing.dirs.length === 0 && listing.files.length === 0 && prefix !== '') return plain(reply, 404, 'not found\n');
    if (!directory) return reply.redirect(`${request.raw.url!.split('?')[0]}/`, 301);
    request.tributaryServed = 'listing';
    return html(reply, request, listingPage(request.raw.url!.split('?')[0]!, listing.dirs.map((d) => `${d}/`), listing.files, listing.truncated));
  }

  /**
   * Logs a request once the connection is done with its response, so a response cut short is
   * logged too. The client's address is read at once: a socket whose client has gone no longer knows it.
   */
  function logWhenDone(request: IncomingMessage, response: ServerResponse, length: () => unknown, served: () => string | undefined): void {
    const started = performance.now();
    const remote = request.socket.remoteAddress ?? '';
    response.once('close', () => {
      const url = request.url ?? '';
      const bytes = length();
      const how = served();
      log.access({
        time: new Date().toISOString(),
        method: request.method ?? '',
        path: url.length > 2048 ? `${url.slice(0, 2048)}…` : url,
        status: response.statusCode,
        bytes: request.method === 'HEAD' || bytes === undefined ? null : Number(bytes),
        ms: Math.round((performance.now() - started) * 10) / 10,
        remote,
        ...(how !== undefined ? { served: how } : {}),
        ...(response.writableEnded ? {} : { incomplete: true }),
      });
    });
  }

  /**
   * A plain GET or HEAD (no range, no condition) of a stored file whose distribution, publication,
   * entry, location and bytes are all in memory: answered here, with the headers sendStoredFile
   * gives. Anything else (or any cache miss) returns false and goes through fastify.
   */
  function answeredFromCache(request: IncomingMessage, response: ServerResponse): boolean {
    const method = request.method;
    const url = request.url;
    if ((method !== 'GET' && method !== 'HEAD') || url === undefined || !url.startsWith(CONTENT_PREFIX)) return false;
    const headers = request.headers;
    if (headers.range !== undefined || headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined) return false;
    const parsed = parseContentPath(url);
    if (!parsed.ok || parsed.path.directory) return false;
    const hit = resolver.peek(parsed.path.segments);
    if (!hit) return false;
    const sha256 = onDemand.locatedNow(hit.entry);
    const file = sha256 === undefined ? undefined : files.peek(sha256);
    if (sha256 === undefined || file?.body === undefined) return false;
    logWhenDone(request, response, () => file.size, () => 'stored');
    response.writeHead(200, { ...storedFileHeaders(sha256, file, hit.entry.path), 'content-length': file.size });
    if (method === 'HEAD') response.end();
    else response.end(file.body);
    return true;
  }

  async function sendEntry(request: FastifyRequest, reply: FastifyReply, served: Served, entry: PublicationEntry): Promise<FastifyReply> {
    const sha256 = await onDemand.locate(entry);
    if (sha256 !== undefined) {
      request.tributaryServed = 'stored';
      try {
        return await sendStoredFile(request, reply, { file: host.storage.pathFor(sha256), sha256, relativePath: entry.path }, files, cutShort(entry));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || entry.urls.length === 0) throw error;
        files.forget(sha256);
        onDemand.forget(entry);
        // the catalog names bytes no longer on disk: fetch them again
      }
    }
    request.tributaryServed = 'on-demand';
    if (request.method === 'HEAD') {
      reply.header('accept-ranges', 'bytes').header('content-type', contentTypeOf(entry.path));
      if (entry.size !== null) reply.header('content-length', entry.size);
      if (entry.digests.sha256 !== undefined) reply.header('etag', `"${entry.digests.sha256}"`);
      return reply.code(200).send();
    }
    const fetch = onDemand.fetch(entry, served.repository.feedUrl);
    const streamable = request.headers.range === undefined && entry.size !== null && fetch.settled === undefined;
    if (!streamable) {
      // a range (or a body of unknown size) is answered from storage once the whole artifact is in
      let record;
      try {
        record = await fetch.done;
      } catch (error) {
        return upstreamFailed(reply, entry, error);
      }
      return sendStoredFile(request, reply, { file: host.storage.pathFor(record.sha256), sha256: record.sha256, relativePath: entry.path }, files, cutShort(entry));
    }
    // an upstream that fails before its first byte gets a 502, not a response begun and cut
    while (fetch.settled === undefined && fetch.received === 0) await fetch.changed();
    if (fetch.settled !== undefined && 'error' in fetch.settled) return upstreamFailed(reply, entry, fetch.settled.error);
    reply.header('content-type', contentTypeOf(entry.path));
    reply.header('content-length', entry.size!);
    if (entry.digests.sha256 !== undefined) reply.header('etag', `"${entry.digests.sha256}"`);
    // written here rather than piped through fastify: see sendFollowing
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, reply.getHeaders() as Record<string, string | number>);
    try {
      await sendFollowing(fetch, entry.size!, response, (sha) => host.storage.pathFor(sha));
    } catch (error) {
      log.event('error', { path: entry.path, error: errorFields(error) }, 'on-demand fetch failed; the client response was cut');
      response.destroy();
    }
    return reply;
  }

  /** Logs a stored body that could not be read to its end (the client's response was cut). */
  function cutShort(entry: PublicationEntry): (error: Error) => void {
    return (error) => log.event('error', { path: entry.path, error: errorFields(error) }, 'reading the stored file failed; the client response was cut');
  }

  function upstreamFailed(reply: FastifyReply, entry: PublicationEntry, error: unknown): FastifyReply {
    log.event('error', { path: entry.path, error: errorFields(error) }, 'on-demand fetch failed');
    const code = isTributaryError(error) ? error.code : ErrorCodes.NETWORK;
    return plain(reply, 502, `the upstream copy of '${entry.path}' could not be fetched (${code})\n`);
  }

  return {
    server,
    onDemand,
    async close() {
      closing = true;
      await server.close();
      await onDemand.close();
    },
  };
}

function sleep(ms: number): Promise<undefined> {
  return delay(ms, undefined, { ref: false });
}

function plain(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send(text);
}

function html(reply: FastifyReply, request: FastifyRequest, page: string): FastifyReply {
  reply.code(200).type('text/html; charset=utf-8');
  if (request.method === 'HEAD') return reply.header('content-length', Buffer.byteLength(page)).send();
  return reply.send(page);
}

export { TributaryError };
