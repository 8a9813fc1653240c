/**
 * A separate HTTP server process for the file-sync benchmark, so serving costs no CPU time of the
 * process under test. Usage: `node file-repo-server.js NAME:ENTRIES:FILE_SIZE ...`; serves
 * `/<NAME>/PULP_MANIFEST` and `/<NAME>/files/…`, then reports `{ url }` over IPC (or stdout).
 */
import http from 'node:http';
import { GeneratedFileRepo } from './file-repo-generator.js';
import { serveForParent } from './bench-process.js';

interface ServedRepo {
  readonly repo: GeneratedFileRepo;
  readonly manifest: Buffer;
}

function parseRepos(args: readonly string[]): Map<string, ServedRepo> {
  const repos = new Map<string, ServedRepo>();
  for (const arg of args) {
    const [name, entries, fileSize] = arg.split(':');
    if (!name || !entries || !fileSize) throw new Error(`expected NAME:ENTRIES:FILE_SIZE, got ${arg}`);
    const repo = new GeneratedFileRepo({ entries: Number(entries), fileSize: Number(fileSize) });
    repos.set(name, { repo, manifest: repo.manifest() });
  }
  return repos;
}

function main(): void {
  const repos = parseRepos(process.argv.slice(2));
  const server = http.createServer((req, res) => {
    const target = decodeURIComponent((req.url ?? '/').split('?')[0] as string);
    const [, name, ...rest] = target.split('/');
    const served = repos.get(name ?? '');
    const relativePath = rest.join('/');
    let body: Buffer | undefined;
    if (served && relativePath === 'PULP_MANIFEST') body = served.manifest;
    else if (served) {
      const index = GeneratedFileRepo.indexOf(relativePath);
      if (index !== undefined && index < served.repo.spec.entries) body = served.repo.body(index);
    }
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  serveForParent(server);
}

main();
