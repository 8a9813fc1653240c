import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

/** Serves one path: `hit` counts requests to that path, from 1. */
export type Route = (request: http.IncomingMessage, response: http.ServerResponse, hit: number) => void;

export interface TlsMaterial {
  key: string;
  cert: string;
  /** Client CAs; with `requestCert`, a client certificate is required. */
  ca?: string;
  requestCert?: boolean;
}

/**
 * A real HTTP(S) server on 127.0.0.1 whose routes inject transport faults. Records every request
 * (path, time, headers) and the peak number of requests in flight.
 */
export class FaultServer {
  readonly requests: { path: string; time: number; headers: http.IncomingHttpHeaders }[] = [];
  maxInFlight = 0;
  tlsFailures = 0;
  private inFlight = 0;
  private readonly routes = new Map<string, Route>();
  private readonly hits = new Map<string, number>();
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: http.Server | https.Server,
    readonly origin: string,
  ) {}

  static async start(tls?: TlsMaterial): Promise<FaultServer> {
    const server = tls
      ? https.createServer({ key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: tls.requestCert ?? false, rejectUnauthorized: true })
      : http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fault = new FaultServer(server, `${tls ? 'https' : 'http'}://127.0.0.1:${port}`);
    server.on('connection', (socket: net.Socket) => {
      fault.sockets.add(socket);
      socket.on('close', () => fault.sockets.delete(socket));
    });
    server.on('tlsClientError', () => fault.tlsFailures++);
    server.on('request', (request, response) => fault.serve(request, response));
    return fault;
  }

  url(path: string): string {
    return `${this.origin}${path}`;
  }

  route(path: string, handler: Route): this {
    this.routes.set(path, handler);
    return this;
  }

  hitsOf(path: string): number {
    return this.hits.get(path) ?? 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(request: http.IncomingMessage, response: http.ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0]!;
    const hit = (this.hits.get(path) ?? 0) + 1;
    this.hits.set(path, hit);
    this.requests.push({ path, time: Date.now(), headers: request.headers });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let counted = true;
    const done = (): void => {
      if (counted) this.inFlight--;
      counted = false;
    };
    response.on('close', done);
    const handler = this.routes.get(path);
    if (handler === undefined) {
      response.writeHead(404).end('no such route');
      return;
    }
    handler(request, response, hit);
  }
}

/**
 * A tiny forward proxy: tunnels CONNECT and forwards absolute-form requests, optionally demanding
 * Proxy-Authorization. Records what it was asked to reach.
 */
export class ForwardProxy {
  readonly seen: { method: string; target: string; proxyAuthorization?: string }[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(requiredAuthorization?: string): Promise<ForwardProxy> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new ForwardProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const allowed = (headers: http.IncomingHttpHeaders): boolean =>
      requiredAuthorization === undefined || headers['proxy-authorization'] === requiredAuthorization;
    server.on('connection', (socket: net.Socket) => {
      proxy.sockets.add(socket);
      socket.on('close', () => proxy.sockets.delete(socket));
    });
    server.on('connect', (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      proxy.record('CONNECT', request.url ?? '', request.headers);
      if (!allowed(request.headers)) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const [host, port] = (request.url ?? '').split(':');
      const upstream = net.connect(Number(port), host!, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      proxy.sockets.add(upstream);
      upstream.on('close', () => proxy.sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      proxy.record(request.method ?? 'GET', request.url ?? '', request.headers);
      if (!allowed(request.headers)) {
        response.writeHead(407).end();
        return;
      }
      const { ['proxy-authorization']: _dropped, ...headers } = request.headers;
      const forward = http.request(request.url!, { method: request.method, headers }, (upstream) => {
        response.writeHead(upstream.statusCode ?? 502, upstream.headers);
        upstream.pipe(response);
      });
      forward.on('error', () => response.destroy());
      request.pipe(forward);
    });
    return proxy;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private record(method: string, target: string, headers: http.IncomingHttpHeaders): void {
    const proxyAuthorization = headers['proxy-authorization'];
    this.seen.push({ method, target, ...(proxyAuthorization !== undefined ? { proxyAuthorization } : {}) });
  }
}
