/**
 * The upstream of the serving benchmark: a plain Node HTTP server in its own process that serves
 * the files under a directory from disk, as a static web server would (GET and HEAD, no ranges), so
 * the process under test and the direct download fetch the same bytes the same way.
 * Usage: `node serve-upstream.js ROOT`; reports `{ url, pid }` over IPC (or stdout).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { serveForParent } from './bench-process.js';

function main(): void {
  const root = path.resolve(process.argv[2] ?? '.');
  const server = http.createServer((req, res) => {
    void answer(root, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  serveForParent(server);
}

async function answer(root: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  let relative: string;
  try {
    relative = decodeURIComponent((req.url ?? '/').split('?')[0] as string);
  } catch {
    res.writeHead(400).end();
    return;
  }
  const file = path.join(root, relative);
  if (!file.startsWith(`${root}${path.sep}`) || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404).end();
    return;
  }
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': info.size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), res);
}

main();
