import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  ErrorCodes,
  TributaryError,
  isTributaryError,
  type ArtifactRecord,
  type DigestAlgorithm,
  type Digests,
  type DownloadedFile,
} from '@tributary/plugin-api';
import { digestsMatch, digestsOf } from './body-digests.js';
import type { HashingFileStream, HashingFileStreamEvents } from './hashing-file-stream.js';
import { safeRelativePath } from './safe-relative-path.js';
import { SmallFileWriter } from './small-file-writer.js';
import { guard, storageError } from './storage-error.js';
import {
  StreamingDigests,
  digestingPassThrough,
  digestingSink,
  normalizeExpectedDigests,
  verifyDigests,
  verifySize,
} from './streaming-digests.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;
const UNSAFE_NAME_CHARACTERS = /[^A-Za-z0-9._-]+/g;
const READ_CHUNK = 1024 * 1024;
const REMOVE_CONCURRENCY = 32;

/**
 * Content-addressed artifact files under one root directory:
 *
 * ```
 * root/artifacts/ab/abcd…      stored files, named by their sha256
 * root/artifacts/ab/abcd….part small downloaded bodies staged beside their address (see stageVerifiedBody)
 * root/tmp/<scopeId>/…         one scratch dir per sync (larger downloads land here first)
 * root/working/<repoId>/       per-repository working dirs of plugins
 * ```
 *
 * A file enters storage only whole and verified: it is hashed, checked against what was expected,
 * then renamed into place, so a reader never sees a partial artifact and identical bytes are
 * stored once however many repositories or sources bring them. Nothing is ever written outside
 * the root. Stored files are not fsynced: after a power loss a sync re-verifies what it needs.
 */
export class ArtifactStorage {
  /** Absolute root directory. */
  readonly root: string;
  private readonly artifactsDir: string;
  private readonly tmpDir: string;
  private readonly workingRoot: string;
  /** Artifact directories created (or being created), so each costs one mkdir however many files arrive at once. */
  private readonly createdDirs = new Map<string, Promise<void>>();
  /** Makes temp names unique across hosts sharing one root, without a syscall per name. */
  private readonly tag = `${process.pid.toString(36)}${randomBytes(4).toString('hex')}`;
  private counter = 0;
  /** Small writes and renames, batched on a thread of their own (see {@link SmallFileWriter}). */
  private readonly smallFiles: SmallFileWriter;
  /** Files {@link stageVerifiedBody} wrote and no one adopted yet, with the scope each belongs to. */
  private readonly staged = new Map<string, string>();
  /** The scope `tempFilePath` named last, validated once rather than for each of its files. */
  private lastScope: { readonly id: string; readonly dir: string } | undefined;

  /** @param smallFiles who writes small files and renames files (tests pass one without a thread). */
  constructor(root: string, smallFiles: SmallFileWriter = new SmallFileWriter()) {
    this.smallFiles = smallFiles;
    this.root = path.resolve(root);
    this.artifactsDir = path.join(this.root, 'artifacts');
    this.tmpDir = path.join(this.root, 'tmp');
    this.workingRoot = path.join(this.root, 'working');
  }

  /** Creates `artifacts/`, `tmp/` and `working/` under the root. Idempotent. */
  async init(): Promise<void> {
    await guard('create the storage directories', async () => {
      for (const dir of [this.artifactsDir, this.tmpDir, this.workingRoot]) await fs.mkdir(dir, { recursive: true });
    });
  }

  /**
   * Creates the scratch directory of one sync and returns its path. `owner` (a repository id) is
   * recorded in it, so that once the sync can no longer be running (its process died) whoever
   * holds the repository next knows the scope is dead ({@link sweepLeftovers}).
   */
  async createScope(scopeId: string, owner?: string): Promise<string> {
    const dir = this.scopeDir(scopeId);
    await guard(`create scratch directory ${dir}`, async () => {
      await fs.mkdir(dir, { recursive: true });
      if (owner !== undefined) await fs.writeFile(path.join(dir, OWNER_FILE), owner);
    });
    return dir;
  }

  /**
   * Writes a body the downloader holds in memory, already hashed and verified, to a staging file
   * beside its content address (`artifacts/ab/<sha256>.<unique>.part`), through the writer thread,
   * and returns that file's path: adopting it ({@link adoptDownloaded}) is then a rename within one
   * directory. Creating the file there rather than in the scope's scratch directory is what makes it
   * cheaper: on ext4 a create in one crowded scratch directory costs about twice a create in the
   * target directory (`npm run bench:placement`; figures in docs/performance.md).
   * `transfer`: the caller gives the body up (see {@link SmallFileWriter.write}).
   * A staged file belongs to the scope until adopted, and its name says which scope: {@link dropScope}
   * removes what is left, and {@link sweepLeftovers} what a crashed host left.
   */
  async stageVerifiedBody(scopeId: string, sha256: string, body: Uint8Array, options: { readonly transfer?: boolean } = {}): Promise<string> {
    const file = await this.stage(scopeId, sha256, (staging) => this.smallFiles.write(staging, body, options).then(() => true));
    return file!;
  }

  /** Memory to gather a body of `size` bytes in before staging it with `transfer` (see {@link SmallFileWriter.bodyMemory}). */
  bodyMemory(size: number): Uint8Array {
    return this.smallFiles.bodyMemory(size);
  }

  /**
   * {@link stageVerifiedBody} for a body not hashed yet: hashes it (sha256 and each algorithm
   * `expected` names; on the writer thread when it runs) and stages it only if every expected
   * digest matches. Returns the digests, and the staged file, which is missing when they do not
   * match: then nothing was written. The staging name needs the sha256 before the hash, so without
   * an expected sha256 the body is hashed here first.
   */
  async stageBody(scopeId: string, body: Uint8Array, expected: Digests, options: { readonly transfer?: boolean } = {}): Promise<{ file?: string; digests: Digests & { sha256: string } }> {
    const sha256 = expected.sha256;
    if (sha256 === undefined) {
      const digests = digestsOf(body, expected);
      if (!digestsMatch(expected, digests)) return { digests };
      return { file: await this.stageVerifiedBody(scopeId, digests.sha256, body, options), digests };
    }
    let digests: (Digests & { sha256: string }) | undefined;
    const file = await this.stage(scopeId, sha256, async (staging) => {
      const hashed = await this.smallFiles.writeHashed(staging, body, expected, options);
      digests = hashed.digests;
      return hashed.written;
    });
    return file === undefined ? { digests: digests! } : { file, digests: digests! };
  }

  /**
   * A file of the scope's scratch directory (a {@link tempFilePath}) written chunk by chunk and
   * hashed as it is written, on the writer thread when there is one (see {@link SmallFileWriter.stream}).
   * A path outside the scratch area is TRIBUTARY_ERR_PATH_UNSAFE: nothing is written outside the root.
   */
  streamTempFile(file: string, algorithms: readonly DigestAlgorithm[], events: HashingFileStreamEvents): HashingFileStream {
    const resolved = path.resolve(file);
    if (!resolved.startsWith(this.tmpDir + path.sep)) {
      throw new TributaryError(ErrorCodes.PATH_UNSAFE, `${file} is not in the storage's scratch area`, { details: { path: file } });
    }
    return this.smallFiles.stream(resolved, algorithms, events);
  }

  /**
   * Stages a file beside the content address `sha256` with `write` (which says whether it wrote
   * it); the staged path, or undefined when nothing was written.
   */
  private async stage(scopeId: string, sha256: string, write: (file: string) => Promise<boolean>): Promise<string | undefined> {
    const target = this.pathFor(sha256);
    const file = `${target}.${scopeTag(scopeId)}-${(++this.counter).toString(36)}.part`;
    this.staged.set(file, scopeId);
    let written: boolean;
    try {
      // the write creates the directory if it is missing: on the writer thread, not here
      written = await write(file);
    } catch (error) {
      this.staged.delete(file);
      throw error;
    }
    if (!written) {
      this.staged.delete(file);
      return undefined;
    }
    this.createdDirs.set(target.slice(0, target.lastIndexOf(path.sep)), CREATED);
    if (!this.staged.has(file)) {
      // the scope was dropped while the write was under way: nothing may stay behind it
      await fs.rm(file, { force: true });
      throw storageError(`stage ${sha256}`, new Error(`the scope ${scopeId} ended while the file was written`));
    }
    return file;
  }

  /** True when `file` is a staged body of this scope that no one adopted yet. */
  isStagedFor(scopeId: string, file: string): boolean {
    return this.staged.get(path.resolve(file)) === scopeId;
  }

  /** Ends the writer thread (after what it was sent); the storage still works afterwards, without it. */
  close(): Promise<void> {
    return this.smallFiles.close();
  }

  /**
   * Removes a sync's scratch directory and everything left in it, and the files it staged beside
   * their content addresses that were never adopted; no error if they are gone.
   */
  async dropScope(scopeId: string): Promise<void> {
    const dir = this.scopeDir(scopeId);
    const leftovers: string[] = [];
    for (const [file, scope] of this.staged) {
      if (scope !== scopeId) continue;
      this.staged.delete(file);
      leftovers.push(file);
    }
    await this.removeFiles(leftovers);
    // renamed first: a process stopped while removing it leaves a name that says it is garbage
    // ({@link sweepLeftovers}), not a scope that lost its owner file and that no sync would claim
    const dropped = path.join(this.tmpDir, `${DROPPED_PREFIX}${path.basename(dir)}`);
    try {
      await fs.rename(dir, dropped);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      await guard(`remove scratch directory ${dir}`, () => fs.rm(dir, { recursive: true, force: true }));
      return;
    }
    await guard(`remove scratch directory ${dropped}`, () => fs.rm(dropped, { recursive: true, force: true }));
  }

  /**
   * A path inside the scope's scratch directory that no one has used yet. `hint` (sanitised, cut
   * short) only makes the name readable when debugging.
   */
  tempFilePath(scopeId: string, hint?: string): string {
    const suffix = hint ? `-${hint.slice(-48).replace(UNSAFE_NAME_CHARACTERS, '_')}` : '';
    if (this.lastScope?.id !== scopeId) this.lastScope = { id: scopeId, dir: this.scopeDir(scopeId) };
    return `${this.lastScope.dir}${path.sep}${this.tag}-${(++this.counter).toString(36)}${suffix}`;
  }

  /**
   * Hashes `file` (sha256 plus each algorithm `expected.digests` names) in one pass, verifies size
   * and digests, and moves it into storage. The source is consumed: moved, or removed when the
   * bytes are already stored or do not match (TRIBUTARY_ERR_SIZE_MISMATCH,
   * TRIBUTARY_ERR_DIGEST_MISMATCH). A source outside the root is copied into `tmp/` while being
   * hashed, so storage never holds a file that was not verified.
   */
  async adoptFile(file: string, expected: { size?: number; digests?: Digests } = {}): Promise<ArtifactRecord> {
    const source = path.resolve(file);
    const expectedDigests = normalizeExpectedDigests(expected.digests, `artifact ${source}`);
    const digests = new StreamingDigests(expectedDigests);
    const inside = this.isInside(source);
    const staged = inside ? source : path.join(this.tmpDir, `.adopt-${this.tag}-${(++this.counter).toString(36)}`);
    try {
      await guard(`read ${source}`, async () => {
        if (inside) {
          await pipeline(createReadStream(source, { highWaterMark: READ_CHUNK }), digestingSink(digests));
        } else {
          await pipeline(
            createReadStream(source, { highWaterMark: READ_CHUNK }),
            digestingPassThrough(digests),
            createWriteStream(staged, { flags: 'wx' }),
          );
        }
      });
      const actual = digests.digest();
      verifySize(expected.size, digests.size, `artifact ${source}`);
      verifyDigests(expectedDigests, actual, `artifact ${source}`);
      await this.place(staged, this.pathFor(actual.sha256));
      if (!inside) await fs.rm(source, { force: true });
      return { sha256: actual.sha256, size: digests.size, digests: actual };
    } catch (error) {
      await fs.rm(staged, { force: true });
      if (!inside && (isTributaryError(error, ErrorCodes.SIZE_MISMATCH) || isTributaryError(error, ErrorCodes.DIGEST_MISMATCH))) {
        await fs.rm(source, { force: true });
      }
      throw error;
    } finally {
      // a staged body handed over this way is consumed too: it no longer belongs to its scope
      this.staged.delete(source);
    }
  }

  /**
   * Moves a file the downloader already hashed and verified into storage: a rename, no re-read.
   * A file outside the root is adopted (and so re-hashed) instead.
   */
  async adoptDownloaded(file: DownloadedFile): Promise<ArtifactRecord> {
    const source = path.resolve(file.path);
    if (!this.isInside(source)) return this.adoptFile(source, { size: file.size, digests: file.digests });
    const target = this.pathFor(file.digests.sha256);
    try {
      await this.place(source, target);
    } catch (error) {
      await fs.rm(source, { force: true });
      throw error;
    } finally {
      this.staged.delete(source);
    }
    return { sha256: file.digests.sha256, size: file.size, digests: { ...file.digests } };
  }

  /**
   * `root/artifacts/<first 2 hex>/<sha256>`; anything but 64 lowercase hex is
   * TRIBUTARY_ERR_DIGEST_INVALID. One level of 256 directories, as Pulp lays out its artifacts: a
   * second level means up to 65,536 directories, and creating them cost a fresh sync of 20,000
   * small files about as much kernel time as writing the files themselves.
   */
  pathFor(sha256: string): string {
    if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) {
      throw new TributaryError(
        ErrorCodes.DIGEST_INVALID,
        `${JSON.stringify(String(sha256).slice(0, 200))} is not a sha256 (64 lowercase hex digits)`,
      );
    }
    return `${this.artifactsDir}${path.sep}${sha256.slice(0, 2)}${path.sep}${sha256}`;
  }

  /** True when the bytes with this sha256 are stored. */
  async has(sha256: string): Promise<boolean> {
    try {
      await fs.access(this.pathFor(sha256));
      return true;
    } catch (error) {
      if (isTributaryError(error)) throw error;
      return false;
    }
  }

  /** Streams a stored file; a missing one fails the stream with TRIBUTARY_ERR_ARTIFACT_MISSING. */
  openRead(sha256: string): NodeJS.ReadableStream {
    const file = this.pathFor(sha256);
    const stream: ReadStream = createReadStream(file, { highWaterMark: READ_CHUNK });
    const destroy = stream._destroy.bind(stream);
    // A failed open surfaces through _destroy; translate it so readers get a typed error.
    stream._destroy = (error, callback) =>
      destroy(error, (final) => {
        if ((final as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
          callback(
            new TributaryError(ErrorCodes.ARTIFACT_MISSING, `artifact ${sha256} is not in storage`, {
              cause: final,
              details: { sha256 },
            }),
          );
        } else callback(final);
      });
    return stream;
  }

  /** Deletes stored files; returns how many existed. Used by orphan cleanup only. */
  remove(sha256s: readonly string[]): Promise<number> {
    return this.removeFiles(sha256s.map((sha256) => this.pathFor(sha256)));
  }

  /**
   * Removes what syncs that can no longer be running left behind: the scratch directory of each
   * scope `isDead` says so of (it is told the owner recorded by {@link createScope}, if any, and how
   * long nothing changed in the scope), and the `.part` files those scopes staged beside their
   * content addresses. With `strayParts`, it also removes staged files of scopes that no longer
   * exist, and other `.part` files untouched for `strayAfterMs` (a copy a crashed host did not
   * finish): that reads every artifact directory, so it belongs to orphan cleanup, not to a sync.
   */
  async sweepLeftovers(
    isDead: (scope: { readonly scopeId: string; readonly owner: string | undefined; readonly idleMs: number }) => boolean | Promise<boolean>,
    options: { readonly strayParts?: boolean; readonly strayAfterMs?: number } = {},
  ): Promise<{ scopes: number; stagedFiles: number }> {
    const deadTags = new Set<string>();
    const liveTags = new Set<string>();
    const now = Date.now();
    let dropped = 0;
    for (const name of await listDirectory(this.tmpDir)) {
      const entry = path.join(this.tmpDir, name);
      if (name.startsWith(DROPPED_PREFIX)) {
        // a scope whose removal stopped half-way (dropScope); its owner may be removing it still
        if (await fs.rm(entry, { recursive: true, force: true }).then(() => true, () => false)) dropped++;
        continue;
      }
      const owner = await fs.readFile(path.join(entry, OWNER_FILE), 'utf8').catch(() => undefined);
      // how long a scope idled matters only for one that names no owner: no need to list the others
      const newest = owner === undefined ? await newestChange(entry) : now;
      if (newest === undefined) continue;
      if (await isDead({ scopeId: name, owner, idleMs: now - newest })) {
        await guard(`remove scratch directory ${entry}`, () => fs.rm(entry, { recursive: true, force: true }));
        deadTags.add(scopeTag(name));
      } else liveTags.add(scopeTag(name));
    }
    if (deadTags.size === 0 && !options.strayParts) return { scopes: dropped, stagedFiles: 0 };
    const cutoff = now - (options.strayAfterMs ?? Number.POSITIVE_INFINITY);
    const leftovers: string[] = [];
    for (const name of await listDirectory(this.artifactsDir)) {
      const dir = path.join(this.artifactsDir, name);
      for (const entry of await fs.readdir(dir).catch(() => [] as string[])) {
        if (!entry.endsWith('.part')) continue;
        const file = path.join(dir, entry);
        if (this.staged.has(file)) continue;
        const tag = /\.(S[0-9a-f]{12})-[0-9a-z]+\.part$/.exec(entry)?.[1];
        if (tag !== undefined && deadTags.has(tag)) leftovers.push(file);
        else if (!options.strayParts || (tag !== undefined && liveTags.has(tag))) continue;
        else if (tag !== undefined) leftovers.push(file);
        else {
          const stat = await fs.lstat(file).catch(() => undefined);
          if (stat?.isFile() && stat.mtimeMs < cutoff) leftovers.push(file);
        }
      }
    }
    return { scopes: deadTags.size + dropped, stagedFiles: await this.removeFiles(leftovers) };
  }

  /** Unlinks files, a few at a time; returns how many existed. */
  private async removeFiles(files: readonly string[]): Promise<number> {
    let removed = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        const file = files[next++]!;
        try {
          await fs.unlink(file);
          removed++;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw storageError(`remove ${file}`, error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(REMOVE_CONCURRENCY, files.length) }, worker));
    return removed;
  }

  /** The repository's working directory `root/working/<repoId>`, created if needed. */
  async workingDir(repoId: string): Promise<string> {
    const dir = path.join(this.workingRoot, singleSegment(repoId, 'repository id'));
    await guard(`create working directory ${dir}`, () => fs.mkdir(dir, { recursive: true }));
    return dir;
  }

  /** Removes a repository's working directory; no error if it is gone. */
  async removeWorkingDir(repoId: string): Promise<void> {
    const dir = path.join(this.workingRoot, singleSegment(repoId, 'repository id'));
    await guard(`remove working directory ${dir}`, () => fs.rm(dir, { recursive: true, force: true }));
  }

  private scopeDir(scopeId: string): string {
    if (scopeId.startsWith(DROPPED_PREFIX)) {
      throw new TributaryError(ErrorCodes.PATH_UNSAFE, `scope id ${JSON.stringify(scopeId)} is refused: '${DROPPED_PREFIX}' names scratch directories being removed`, {
        details: { path: scopeId, reason: 'reserved' },
      });
    }
    return path.join(this.tmpDir, singleSegment(scopeId, 'scope id'));
  }

  private isInside(file: string): boolean {
    return file.startsWith(this.root + path.sep);
  }

  /**
   * Renames a verified file inside the root to its content address. Identical bytes may already be
   * there (or arrive concurrently): a rename over them is atomic, consumes the source and changes
   * nothing a reader sees — and is one filesystem call cheaper than checking first, which matters
   * when a sync stores tens of thousands of small files. `target` is a {@link pathFor} path.
   */
  private async place(staged: string, target: string): Promise<void> {
    const dir = target.slice(0, target.lastIndexOf(path.sep));
    try {
      await this.ensureDir(target);
      try {
        await this.smallFiles.rename(staged, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
        // Part of the root is another filesystem: copy next to the target, then rename there.
        const part = `${target}.${this.tag}-${(++this.counter).toString(36)}.part`;
        try {
          await fs.copyFile(staged, part);
          await fs.rename(part, target);
        } finally {
          await fs.rm(part, { force: true });
        }
        await fs.rm(staged, { force: true });
      }
    } catch (error) {
      throw storageError(`store ${target.slice(dir.length + 1)}`, error);
    }
  }

  /** Creates the directory of a {@link pathFor} path once per storage object. */
  private ensureDir(target: string): Promise<void> {
    const dir = target.slice(0, target.lastIndexOf(path.sep));
    let created = this.createdDirs.get(dir);
    if (created === undefined) {
      created = fs.mkdir(dir, { recursive: true }).then(() => undefined);
      // a failure is not remembered: the next file tries again
      created.catch(() => this.createdDirs.delete(dir));
      this.createdDirs.set(dir, created);
    }
    return created;
  }
}

const CREATED = Promise.resolve();

function singleSegment(id: string, what: string): string {
  const safe = safeRelativePath(id, what);
  if (safe.includes('/')) {
    throw new TributaryError(ErrorCodes.PATH_UNSAFE, `${what} ${JSON.stringify(id)} is refused: it contains '/'`, {
      details: { path: id, reason: 'slash' },
    });
  }
  return safe;
}

/** The file in a scope's scratch directory naming the repository whose sync it belongs to. */
const OWNER_FILE = '.owner';
/** The name a scope's directory takes while dropScope removes it; no scope id may start with it. */
const DROPPED_PREFIX = '.dropped-';

/** What a staged file's name says of the scope that staged it. */
function scopeTag(scopeId: string): string {
  return `S${createHash('sha256').update(scopeId).digest('hex').slice(0, 12)}`;
}

/** The names in a directory; none when it does not exist. */
async function listDirectory(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw storageError(`list ${dir}`, error);
  }
}

/** Latest mtime of an entry and, for a directory, of its direct children. */
async function newestChange(entry: string): Promise<number | undefined> {
  try {
    const stat = await fs.lstat(entry);
    let newest = stat.mtimeMs;
    if (stat.isDirectory()) {
      for (const child of await fs.readdir(entry)) {
        const childStat = await fs.lstat(path.join(entry, child)).catch(() => undefined);
        if (childStat && childStat.mtimeMs > newest) newest = childStat.mtimeMs;
      }
    }
    return newest;
  } catch {
    return undefined;
  }
}
