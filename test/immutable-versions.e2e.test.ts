/**
 * End-to-end: a committed repository version never changes. Units are shared by key across
 * repositories and versions (a file's key is its path and sha256), so a later sync, of the same
 * repository or of another, that stores the same key with other metadata or other remote sources
 * must leave what `units REPO --version N` returns byte for byte as it was.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '@tributary/core';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const files = ['alpha\n', 'bravo\n', 'charlie\n'];

/** Manifests by url path; a test rewrites them between syncs. */
const manifests = new Map<string, string>();
/** A manifest listing the files, `sizes` overriding what an entry announces (the sha256 stays). */
const manifest = (sizes: Record<number, number> = {}) =>
  files.map((text, i) => `f${i}.txt,${sha256(text)},${sizes[i] ?? text.length}\n`).join('');

describe('committed versions never change', () => {
  let home: string;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'tributary-immutable-'));
    server = createServer((request, response) => {
      const body = manifests.get(new URL(request.url!, 'http://x').pathname);
      if (body === undefined) response.writeHead(404).end();
      else response.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(home, { recursive: true, force: true });
  });

  async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['--home', home, ...argv], {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      env: {},
      cwd: home,
    });
    return { code, stdout, stderr };
  }

  async function sync(repo: string, url: string): Promise<number> {
    const run = await cli('--json', 'sync', repo, '--create', '--importer', 'file', '--url', url, '--policy', 'on_demand');
    if (run.code !== 0) throw new Error(`sync failed (${run.code}): ${run.stderr}`);
    return (JSON.parse(run.stdout) as { version: number }).version;
  }

  async function units(repo: string, version: number): Promise<string> {
    const run = await cli('--json', 'units', repo, '--version', String(version));
    expect(run.code).toBe(0);
    return run.stdout;
  }
  const sizes = (listing: string) =>
    Object.fromEntries(
      listing
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { key: { relativePath: string }; metadata: { size: number } })
        .map((unit) => [unit.key.relativePath, unit.metadata.size]),
    );

  it("a re-sync that stores an entry's key with new metadata leaves version 1 byte for byte as it was", async () => {
    manifests.set('/same/PULP_MANIFEST', manifest());
    expect(await sync('same', `${base}/same/PULP_MANIFEST`)).toBe(1);
    const before = await units('same', 1);
    expect(sizes(before)).toEqual({ 'f0.txt': 6, 'f1.txt': 6, 'f2.txt': 8 });

    manifests.set('/same/PULP_MANIFEST', manifest({ 1: 16 * 1024 * 1024 }));
    const second = await sync('same', `${base}/same/PULP_MANIFEST`);
    expect(await units('same', 1)).toBe(before);
    // showing the entry's new revision is a change of the repository: a new version
    expect(second).toBe(2);
    expect(sizes(await units('same', 2))).toEqual({ 'f0.txt': 6, 'f1.txt': 16 * 1024 * 1024, 'f2.txt': 8 });
  });

  it("another repository's sync of the same keys changes none of this repository's versions", async () => {
    manifests.set('/first/PULP_MANIFEST', manifest());
    manifests.set('/second/PULP_MANIFEST', manifest({ 0: 60, 2: 80 }));
    expect(await sync('first', `${base}/first/PULP_MANIFEST`)).toBe(1);
    const before = await units('first', 1);
    expect(await sync('second', `${base}/second/PULP_MANIFEST`)).toBe(1);
    expect(sizes(await units('second', 1))).toEqual({ 'f0.txt': 60, 'f1.txt': 6, 'f2.txt': 80 });
    expect(await units('first', 1)).toBe(before);
  });
});
