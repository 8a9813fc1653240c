/**
 * A separate static HTTP server process for the rpm-sync benchmark, so serving costs no CPU time
 * of the process under test. Usage: `node rpm-repo-server.js DIR`; serves the files under DIR
 * (streamed from disk), then reports `{ url }` over IPC (or stdout).
 */
import { createReadStream, promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { serveForParent } from './bench-process.js';

function main(): void {
  const root = path.resolve(process.argv[2] ?? '.');
  const server = http.createServer((req, res) => {
    void (async () => {
      const target = path.resolve(root, `.${decodeURIComponent((req.url ?? '/').split('?')[0] as string)}`);
      const stat = target.startsWith(root + path.sep) ? await fs.stat(target).catch(() => undefined) : undefined;
      if (!stat?.isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': stat.size });
      if (req.method === 'HEAD') res.end();
      else createReadStream(target).pipe(res);
    })();
  });
  serveForParent(server);
}

main();
