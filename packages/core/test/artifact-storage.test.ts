import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ErrorCodes, isTributaryError } from '@tributary/plugin-api';
import { ArtifactStorage } from '../src/storage/artifact-storage';
import { SmallFileWriter } from '../src/storage/small-file-writer';

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const md5 = (data: Buffer | string): string => createHash('md5').update(data).digest('hex');

async function listFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

async function rejection(promise: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('ArtifactStorage', () => {
  let base: string;
  let storage: ArtifactStorage;

  beforeEach(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'tributary-storage-'));
    storage = new ArtifactStorage(path.join(base, 'root'));
    await storage.init();
  });

  afterEach(async () => {
    await fs.rm(base, { recursive: true, force: true });
  });

  async function scratchFile(content: string | Buffer, scope = 'sync-1'): Promise<string> {
    await storage.createScope(scope);
    const file = storage.tempFilePath(scope, 'some/name.rpm');
    await fs.writeFile(file, content);
    return file;
  }

  test('init lays out artifacts, tmp and working under an absolute root', async () => {
    const relative = new ArtifactStorage(path.relative(process.cwd(), path.join(base, 'rel')));
    expect(path.isAbsolute(relative.root)).toBe(true);
    await relative.init();
    expect((await fs.readdir(relative.root)).sort()).toEqual(['artifacts', 'tmp', 'working']);
  });

  test('pathFor derives the path from the sha256 and refuses anything else', async () => {
    const digest = sha256('x');
    expect(storage.pathFor(digest)).toBe(path.join(storage.root, 'artifacts', digest.slice(0, 2), digest));
    for (const bad of [digest.toUpperCase(), digest.slice(1), `${digest.slice(0, 63)}g`, '../../etc/passwd', '']) {
      const error = await rejection(() => storage.pathFor(bad));
      expect(isTributaryError(error, ErrorCodes.DIGEST_INVALID)).toBe(true);
    }
  });

  test('adoptFile moves a verified file to its content address and computes the expected algorithms', async () => {
    const content = 'hello artifact';
    const file = await scratchFile(content);
    const record = await storage.adoptFile(file, { size: content.length, digests: { md5: md5(content).toUpperCase() } });
    expect(record).toEqual({ sha256: sha256(content), size: content.length, digests: { sha256: sha256(content), md5: md5(content) } });
    await expect(fs.access(file)).rejects.toThrow();
    expect(await fs.readFile(storage.pathFor(record.sha256), 'utf8')).toBe(content);
    expect(await storage.has(record.sha256)).toBe(true);
    const chunks: Buffer[] = [];
    for await (const chunk of storage.openRead(record.sha256)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe(content);
  });

  test('a size mismatch deletes the source and stores nothing', async () => {
    const file = await scratchFile('12345');
    const error = await rejection(storage.adoptFile(file, { size: 4 }));
    expect(isTributaryError(error, ErrorCodes.SIZE_MISMATCH)).toBe(true);
    await expect(fs.access(file)).rejects.toThrow();
    expect(await listFiles(path.join(storage.root, 'artifacts'))).toEqual([]);
  });

  test('a digest mismatch names the algorithm, expected and actual value, and leaves nothing', async () => {
    const file = await scratchFile('payload');
    const wrong = sha256('other');
    const error = await rejection(storage.adoptFile(file, { digests: { sha256: wrong } }));
    expect(isTributaryError(error, ErrorCodes.DIGEST_MISMATCH)).toBe(true);
    expect((error as Error).message).toContain('sha256');
    expect((error as Error).message).toContain(wrong);
    expect((error as Error).message).toContain(sha256('payload'));
    expect(await listFiles(storage.root)).toEqual([]);
  });

  test('a malformed expected digest is refused before anything moves', async () => {
    const file = await scratchFile('payload');
    for (const digests of [{ sha1: 'abc' }, { sha256: 'z'.repeat(64) }, { crc32: '00000000' }]) {
      const error = await rejection(storage.adoptFile(file, { digests: digests as never }));
      expect(isTributaryError(error, ErrorCodes.DIGEST_INVALID)).toBe(true);
    }
    expect(await fs.readFile(file, 'utf8')).toBe('payload');
  });

  test('identical bytes adopted concurrently from two sources are stored once, with no leftovers', async () => {
    const content = Buffer.alloc(3 * 1024 * 1024, 7);
    const first = await scratchFile(content, 'sync-a');
    const second = await scratchFile(content, 'sync-b');
    const [a, b] = await Promise.all([storage.adoptFile(first), storage.adoptFile(second)]);
    expect(a.sha256).toBe(sha256(content));
    expect(b.sha256).toBe(a.sha256);
    const digest = a.sha256;
    expect(await listFiles(storage.root)).toEqual([path.join('artifacts', digest.slice(0, 2), digest)]);
    expect((await fs.readFile(storage.pathFor(digest))).equals(content)).toBe(true);
  });

  test('adopting bytes already stored consumes the source and leaves one stored copy', async () => {
    const record = await storage.adoptFile(await scratchFile('same'));
    const again = await scratchFile('same');
    expect((await storage.adoptFile(again)).sha256).toBe(record.sha256);
    await expect(fs.access(again)).rejects.toThrow();
    expect(await fs.readFile(storage.pathFor(record.sha256), 'utf8')).toBe('same');
    expect(await listFiles(storage.root)).toHaveLength(1);
  });

  test('a source outside the root is copied in while hashed, then removed', async () => {
    const outside = path.join(base, 'outside.bin');
    await fs.writeFile(outside, 'from elsewhere');
    const record = await storage.adoptFile(outside, { size: 14 });
    expect(record.sha256).toBe(sha256('from elsewhere'));
    await expect(fs.access(outside)).rejects.toThrow();
    expect(await listFiles(path.join(storage.root, 'tmp'))).toEqual([]);
    expect(await fs.readFile(storage.pathFor(record.sha256), 'utf8')).toBe('from elsewhere');
  });

  test('a mismatching source outside the root leaves nothing in the root', async () => {
    const outside = path.join(base, 'outside.bin');
    await fs.writeFile(outside, 'from elsewhere');
    const error = await rejection(storage.adoptFile(outside, { digests: { sha256: sha256('x') } }));
    expect(isTributaryError(error, ErrorCodes.DIGEST_MISMATCH)).toBe(true);
    expect(await listFiles(storage.root)).toEqual([]);
  });

  test('adoptDownloaded renames a file the downloader already verified', async () => {
    const file = await scratchFile('downloaded');
    const digests = { sha256: sha256('downloaded') };
    const record = await storage.adoptDownloaded({ path: file, size: 10, digests });
    expect(record).toEqual({ sha256: digests.sha256, size: 10, digests });
    await expect(fs.access(file)).rejects.toThrow();
    expect(await fs.readFile(storage.pathFor(digests.sha256), 'utf8')).toBe('downloaded');
  });

  const partsIn = async (): Promise<string[]> => (await listFiles(path.join(storage.root, 'artifacts'))).filter((f) => f.endsWith('.part'));

  test('a verified body is staged beside its content address and adopted by a rename in that directory', async () => {
    const body = Buffer.from('staged body');
    const digests = { sha256: sha256(body) };
    const staged = await storage.stageVerifiedBody('sync-1', digests.sha256, body);
    expect(path.dirname(staged)).toBe(path.dirname(storage.pathFor(digests.sha256)));
    expect(path.basename(staged).startsWith(`${digests.sha256}.`)).toBe(true);
    expect(storage.isStagedFor('sync-1', staged)).toBe(true);
    expect(storage.isStagedFor('sync-2', staged)).toBe(false);
    expect(await storage.has(digests.sha256)).toBe(false);
    expect(await storage.adoptDownloaded({ path: staged, size: body.length, digests })).toEqual({ sha256: digests.sha256, size: body.length, digests });
    expect(await fs.readFile(storage.pathFor(digests.sha256))).toEqual(body);
    expect(storage.isStagedFor('sync-1', staged)).toBe(false);
    expect(await partsIn()).toEqual([]);
  });

  test('a staged body adopted by re-hashing (adoptFile) is stored and no longer belongs to its scope', async () => {
    const body = Buffer.from('re-hashed');
    const staged = await storage.stageVerifiedBody('sync-1', sha256(body), body);
    expect(await storage.adoptFile(staged, { size: body.length })).toMatchObject({ sha256: sha256(body), size: body.length });
    expect(storage.isStagedFor('sync-1', staged)).toBe(false);
    expect(await partsIn()).toEqual([]);
  });

  test('staging refuses a digest that is not a sha256 and writes nothing', async () => {
    const error = await rejection(storage.stageVerifiedBody('sync-1', '../../../escape', Buffer.from('x')));
    expect(isTributaryError(error, ErrorCodes.DIGEST_INVALID)).toBe(true);
    expect(await listFiles(base)).toEqual([]);
  });

  test('dropScope removes the bodies its scope staged and never adopted, and no other scope\'s', async () => {
    await storage.createScope('sync-1');
    await storage.createScope('sync-2');
    const mine = await Promise.all(['a', 'b', 'c'].map((text) => storage.stageVerifiedBody('sync-1', sha256(text), Buffer.from(text))));
    const theirs = await storage.stageVerifiedBody('sync-2', sha256('d'), Buffer.from('d'));
    await storage.adoptDownloaded({ path: mine[0]!, size: 1, digests: { sha256: sha256('a') } });
    await storage.dropScope('sync-1');
    expect(await partsIn()).toEqual([path.relative(path.join(storage.root, 'artifacts'), theirs)]);
    expect(await storage.has(sha256('a'))).toBe(true);
    expect(storage.isStagedFor('sync-2', theirs)).toBe(true);
    await storage.dropScope('sync-2');
    expect(await partsIn()).toEqual([]);
  });

  test('a body whose scope is dropped while it is being written leaves nothing behind', async () => {
    await storage.createScope('sync-1');
    const staging = storage.stageVerifiedBody('sync-1', sha256('late'), Buffer.from('late'));
    await storage.dropScope('sync-1');
    const error = await rejection(staging);
    expect(isTributaryError(error, ErrorCodes.STORAGE)).toBe(true);
    expect(await listFiles(path.join(storage.root, 'artifacts'))).toEqual([]);
  });

  test('sweepLeftovers with stray parts removes bodies a crashed host staged, and keeps fresh ones, live ones and stored files', async () => {
    const stored = await storage.adoptFile(await scratchFile('stored'));
    const crashed = `${storage.pathFor(sha256('crashed'))}.deadhost-1.part`;
    const fresh = `${storage.pathFor(sha256('fresh'))}.otherhost-1.part`;
    for (const file of [crashed, fresh]) {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, 'x');
    }
    await storage.createScope('sync-1', 'repo-1');
    const live = await storage.stageVerifiedBody('sync-1', sha256('live'), Buffer.from('live'));
    const old = new Date(Date.now() - 3_600_000);
    for (const file of [crashed, live, storage.pathFor(stored.sha256)]) await fs.utimes(file, old, old);
    expect(await storage.sweepLeftovers(() => false, { strayParts: true, strayAfterMs: 60_000 })).toEqual({ scopes: 0, stagedFiles: 1 });
    const left = await listFiles(path.join(storage.root, 'artifacts'));
    expect(left).toHaveLength(3);
    expect(left).not.toContain(path.relative(path.join(storage.root, 'artifacts'), crashed));
    expect(await storage.has(stored.sha256)).toBe(true);
  });

  test('sweepLeftovers removes the scratch and staged files of dead scopes at once, whatever their age, and keeps live ones', async () => {
    // a second storage on the same root plays the host that died: its staged bodies are not in this one's memory
    const crashedHost = new ArtifactStorage(storage.root, new SmallFileWriter({ script: null }));
    const deadDir = await crashedHost.createScope('dead-sync', 'repo-1');
    await fs.writeFile(path.join(deadDir, 'manifest.copy'), 'x'.repeat(1000));
    const deadPart = await crashedHost.stageVerifiedBody('dead-sync', sha256('dead'), Buffer.from('dead'));
    await storage.createScope('live-sync', 'repo-1');
    const livePart = await storage.stageVerifiedBody('live-sync', sha256('live'), Buffer.from('live'));
    await storage.createScope('other-repo-sync', 'repo-2');
    const seen: { scopeId: string; owner: string | undefined }[] = [];
    const swept = await storage.sweepLeftovers(({ scopeId, owner }) => {
      seen.push({ scopeId, owner });
      return owner === 'repo-1' && scopeId !== 'live-sync';
    });
    expect(swept).toEqual({ scopes: 1, stagedFiles: 1 });
    expect(seen.sort((a, b) => a.scopeId.localeCompare(b.scopeId))).toEqual([
      { scopeId: 'dead-sync', owner: 'repo-1' },
      { scopeId: 'live-sync', owner: 'repo-1' },
      { scopeId: 'other-repo-sync', owner: 'repo-2' },
    ]);
    expect((await fs.readdir(path.join(storage.root, 'tmp'))).sort()).toEqual(['live-sync', 'other-repo-sync']);
    await expect(fs.access(deadPart)).rejects.toThrow();
    await expect(fs.access(livePart)).resolves.toBeUndefined();
    await crashedHost.close();
  });

  test('a scope is renamed before it is removed, so one whose removal stopped half-way is garbage to the next sweep, whoever owned it', async () => {
    const dir = await storage.createScope('finished-sync', 'repo-1');
    await fs.writeFile(path.join(dir, 'manifest.copy'), 'x');
    // the removal fails half-way (as a process killed during it would stop): what is left has the dropped name
    const rm = jest.spyOn(fs, 'rm').mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    try {
      await expect(storage.dropScope('finished-sync')).rejects.toThrow();
    } finally {
      rm.mockRestore();
    }
    expect(await fs.readdir(path.join(storage.root, 'tmp'))).toEqual(['.dropped-finished-sync']);
    await storage.createScope('other-repo-sync', 'repo-2');
    const asked: string[] = [];
    expect(await storage.sweepLeftovers(({ scopeId }) => (asked.push(scopeId), false))).toEqual({ scopes: 1, stagedFiles: 0 });
    expect(asked).toEqual(['other-repo-sync']);
    expect(await fs.readdir(path.join(storage.root, 'tmp'))).toEqual(['other-repo-sync']);
    await storage.dropScope('other-repo-sync');
    expect(await fs.readdir(path.join(storage.root, 'tmp'))).toEqual([]);
    await expect(storage.createScope('.dropped-x', 'repo-1')).rejects.toMatchObject({ code: ErrorCodes.PATH_UNSAFE });
  });

  test('openRead of a missing artifact fails with TRIBUTARY_ERR_ARTIFACT_MISSING', async () => {
    const error = await rejection(async () => {
      for await (const _chunk of storage.openRead(sha256('never stored'))) void _chunk;
    });
    expect(isTributaryError(error, ErrorCodes.ARTIFACT_MISSING)).toBe(true);
  });

  test('remove deletes stored files and counts only those that existed', async () => {
    const a = await storage.adoptFile(await scratchFile('a'));
    const b = await storage.adoptFile(await scratchFile('b'));
    expect(await storage.remove([a.sha256, b.sha256, sha256('absent')])).toBe(2);
    expect(await storage.has(a.sha256)).toBe(false);
    expect(await storage.remove([a.sha256])).toBe(0);
  });

  test('scopes: temp paths are unique and inside the scope, dropScope removes everything', async () => {
    const dir = await storage.createScope('sync-9');
    const paths = new Set(Array.from({ length: 1000 }, () => storage.tempFilePath('sync-9', '../../escape')));
    expect(paths.size).toBe(1000);
    for (const p of paths) expect(path.dirname(p)).toBe(dir);
    await fs.writeFile([...paths][0]!, 'x');
    await storage.dropScope('sync-9');
    await storage.dropScope('sync-9');
    expect(await fs.readdir(path.join(storage.root, 'tmp'))).toEqual([]);
  });

  test('traversal in scope and repository ids is refused and nothing is created outside the root', async () => {
    for (const id of ['..', '../escape', 'a/b', '/etc', '', 'x\u0000y']) {
      for (const attempt of [
        () => storage.createScope(id),
        () => storage.dropScope(id),
        () => storage.tempFilePath(id),
        () => storage.workingDir(id),
        () => storage.removeWorkingDir(id),
      ]) {
        const error = await rejection(attempt);
        expect(isTributaryError(error, ErrorCodes.PATH_UNSAFE)).toBe(true);
      }
    }
    expect((await fs.readdir(base)).sort()).toEqual(['root']);
  });

  test('working directories are created per repository and removed on request', async () => {
    const dir = await storage.workingDir('repo-1');
    expect(dir).toBe(path.join(storage.root, 'working', 'repo-1'));
    await fs.writeFile(path.join(dir, 'state'), 'x');
    await storage.removeWorkingDir('repo-1');
    await expect(fs.access(dir)).rejects.toThrow();
  });

  test('sweepLeftovers judges scratch that names no owner by how long it idled', async () => {
    const stale = await storage.createScope('crashed');
    await fs.writeFile(path.join(stale, 'part'), 'x');
    const old = new Date(Date.now() - 3_600_000);
    await fs.utimes(path.join(stale, 'part'), old, old);
    await fs.utimes(stale, old, old);
    const live = await storage.createScope('running');
    await fs.writeFile(path.join(live, 'part'), 'x');
    expect(await storage.sweepLeftovers(({ owner, idleMs }) => owner === undefined && idleMs > 60_000)).toEqual({ scopes: 1, stagedFiles: 0 });
    expect(await fs.readdir(path.join(storage.root, 'tmp'))).toEqual(['running']);
  });
});
