import type { Dispatcher } from 'undici';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import { redactUrl } from './redact-url.js';

/** How to reach one remote: auth, TLS, proxy, headers, limits, retries and timeouts. */
export interface RemoteOptions {
  /** Sent with every request. An `Authorization` header here is treated as a secret too. */
  headers?: Record<string, string>;
  /** Basic auth. Userinfo in a url (`https://user:pass@host/…`) is accepted too, and wins for that url. */
  username?: string;
  password?: string;
  /** PEM: extra CA certificate(s) trusted for the remote. */
  ca?: string | Buffer;
  /** PEM client certificate and key for mutual TLS. */
  clientCert?: string | Buffer;
  clientKey?: string | Buffer;
  /** Verify the remote's TLS certificate. Default true. */
  tlsValidation?: boolean;
  /** `http://[user:pass@]proxy:port`; https targets are tunnelled with CONNECT. */
  proxyUrl?: string;
  /** Simultaneous requests per remote origin. Default 10. */
  concurrency?: number;
  /** Further attempts after a retryable failure (connection error, timeout, 429, 5xx). Default 3. */
  retries?: number;
  /** Base of the exponential backoff between attempts, jittered. Default 250 ms. */
  backoffMs?: number;
  /** Time to establish a connection (TCP + TLS). Default 30 s. */
  connectTimeoutMs?: number;
  /** Time from sending a request to having the response headers (the idle timeout applies there too). Default 60 s. */
  headersTimeoutMs?: number;
  /**
   * Longest silence allowed in a transfer: waiting for the response headers, and every gap between
   * two body chunks, time the body waits for the disk included. A stalled attempt fails with
   * TRIBUTARY_ERR_TIMEOUT once it has been idle this long, and is retried like any timeout. A
   * large download that keeps progressing is never cut by it, however long it takes. Default 60 s.
   */
  idleTimeoutMs?: number;
}

/** RemoteOptions with every default filled in. */
export interface ResolvedRemoteOptions {
  readonly headers: Readonly<Record<string, string>>;
  readonly username?: string;
  readonly password?: string;
  readonly concurrency: number;
  readonly retries: number;
  readonly backoffMs: number;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

export function resolveRemoteOptions(options: RemoteOptions = {}): ResolvedRemoteOptions {
  const count = (value: number | undefined, fallback: number, name: string, min: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < min) {
      throw new TributaryError(ErrorCodes.CONFIG_INVALID, `remote option ${name} must be an integer >= ${min}, got ${String(value)}`, {
        details: { option: name },
      });
    }
    return value;
  };
  const resolved: ResolvedRemoteOptions = {
    headers: { ...(options.headers ?? {}) },
    concurrency: count(options.concurrency, 10, 'concurrency', 1),
    retries: count(options.retries, 3, 'retries', 0),
    backoffMs: count(options.backoffMs, 250, 'backoffMs', 0),
    connectTimeoutMs: count(options.connectTimeoutMs, 30_000, 'connectTimeoutMs', 1),
    headersTimeoutMs: count(options.headersTimeoutMs, 60_000, 'headersTimeoutMs', 1),
    idleTimeoutMs: count(options.idleTimeoutMs, 60_000, 'idleTimeoutMs', 1),
  };
  if (options.username !== undefined || options.password !== undefined) {
    return { ...resolved, username: options.username ?? '', password: options.password ?? '' };
  }
  return resolved;
}

/**
 * The one pooled undici dispatcher of a Downloader: an Agent, or a ProxyAgent when a proxy is
 * set. Connections per origin match the concurrency limit, so a request never waits on the pool
 * after it got through the limiter.
 */
export function createRemoteDispatcher(options: RemoteOptions, resolved: ResolvedRemoteOptions): Dispatcher {
  const proxy = options.proxyUrl === undefined ? undefined : checkedProxyUrl(options.proxyUrl);
  const tls = {
    timeout: resolved.connectTimeoutMs,
    rejectUnauthorized: options.tlsValidation !== false,
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
    ...(options.clientCert !== undefined ? { cert: options.clientCert } : {}),
    ...(options.clientKey !== undefined ? { key: options.clientKey } : {}),
  };
  const common = {
    connections: resolved.concurrency,
    pipelining: 1,
    headersTimeout: resolved.headersTimeoutMs,
    bodyTimeout: resolved.idleTimeoutMs,
  };
  if (proxy === undefined) return new (undiciAgent())({ ...common, connect: tls });
  // the whole of undici: a ProxyAgent tunnels with the `connect` its index adds to every dispatcher
  const { ProxyAgent } = require('undici') as typeof import('undici');
  return new ProxyAgent({
    ...common,
    uri: proxy.href,
    requestTls: tls,
    proxyTls: { timeout: resolved.connectTimeoutMs },
  });
}

/** A proxy url, checked: TRIBUTARY_ERR_URL_INVALID unless it is a valid http or https url. */
export function checkedProxyUrl(proxyUrl: string): URL {
  let proxy: URL;
  try {
    proxy = new URL(proxyUrl);
  } catch {
    throw new TributaryError(ErrorCodes.URL_INVALID, `proxy url ${redactUrl(proxyUrl)} is not a valid url`);
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
    throw new TributaryError(ErrorCodes.URL_INVALID, `proxy url ${redactUrl(proxyUrl)} must be http or https`);
  }
  return proxy;
}

/** Loads the http client now (a caller with time to spare before its first download). */
export function preloadHttpClient(): void {
  undiciAgent();
}

/**
 * undici's Agent, loaded by the first remote a process reaches. undici's index loads all of it
 * (fetch, websockets, caches, mocks): about three times the module loading of the Agent alone,
 * which is all a download without a proxy uses (it dispatches, needing none of the request API
 * the index adds). Should a later undici move the Agent, its index.
 */
function undiciAgent(): typeof import('undici').Agent {
  try {
    return require('undici/lib/dispatcher/agent.js') as typeof import('undici').Agent;
  } catch {
    return (require('undici') as typeof import('undici')).Agent;
  }
}
