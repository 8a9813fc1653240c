/**
 * The floor of scenario (c) of the serving benchmark: a plain Node HTTP server in its own process
 * that forwards each GET to the upstream through undici and writes what arrives to its client (what
 * arrived in one event-loop turn as one write), verifying and storing nothing. Whatever a single
 * Node process in the middle costs on the machine, before any of the content app's work.
 * Usage: `node serve-proxy.js UPSTREAM_URL`; reports `{ url, pid }` over IPC (or stdout).
 */
import http from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import { serveForParent } from './bench-process.js';

function main(): void {
  const upstream = new URL(process.argv[2] ?? '');
  const agent = new Agent();
  const server = http.createServer((req, res) => {
    let pending: Buffer[] = [];
    let scheduled = false;
    let controller: Dispatcher.DispatchController | undefined;
    const flush = (): void => {
      scheduled = false;
      res.cork();
      for (const chunk of pending) res.write(chunk);
      pending = [];
      res.uncork();
      if (res.writableNeedDrain) controller?.pause();
    };
    res.on('drain', () => controller?.resume());
    res.on('close', () => {
      if (!res.writableFinished) controller?.abort(new Error('client gone'));
    });
    agent.dispatch(
      { origin: upstream.origin, path: req.url ?? '/', method: 'GET', headers: {} },
      {
        onRequestStart: (c) => (controller = c),
        onResponseStart: (_c, status, headers) => {
          const length = headers['content-length'];
          res.writeHead(status, { 'content-type': 'application/octet-stream', ...(typeof length === 'string' ? { 'content-length': length } : {}) });
        },
        onResponseData: (_c, chunk) => {
          pending.push(chunk);
          if (!scheduled) {
            scheduled = true;
            setImmediate(flush);
          }
        },
        onResponseEnd: () => {
          setImmediate(() => {
            if (pending.length > 0) flush();
            res.end();
          });
        },
        onResponseError: () => res.destroy(),
      },
    );
  });
  serveForParent(server);
}

main();
