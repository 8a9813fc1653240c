import { hash } from 'node:crypto';
import fs from 'node:fs';
import Module, { isBuiltin } from 'node:module';
import path from 'node:path';
import { debuglog } from 'node:util';
import { trustedCacheDir, writeCacheFile } from '../host/cache-dir.js';

const debug = debuglog('tributary:compile-cache');

/** Bumped when the file's layout changes, so a file of an older one is not read. */
const LAYOUT = 1;
/** Where in the cache directory the file lives: a directory of its own, as CompileCache's sets are. */
const SUBDIR = `paths-v${LAYOUT}`;

export interface ResolveCacheStats {
  /** Requests answered from kept resolutions, and requests node resolved (none kept, or they no longer held). */
  readonly hits: number;
  readonly misses: number;
  /** Whether the process rewrote the file at its end. */
  readonly written: boolean;
}

type ResolveFunction = (this: unknown, request: string, parent: Module | undefined, isMain: boolean, options?: unknown) => string;
interface ModuleInternals {
  _resolveFilename: ResolveFunction;
  _resolveLookupPaths(request: string, parent: Module): string[] | null;
}

interface KeptFile {
  readonly layout: number;
  /** What else decides resolution: node's version, NODE_PATH, NODE_OPTIONS and node's own options. */
  readonly context: string;
  /** Path → stamp of the directories and package.json files the resolutions were read from (null: absent). */
  readonly stamps: Record<string, string | null>;
  /** `parentDir \0 request` → the file node resolved it to. */
  readonly resolved: Record<string, string>;
}

/**
 * Keeps where node resolved the `require` requests of a process (the file a request from a
 * directory names), in `dir`, and answers the same requests from it in later processes: node 20
 * resolves each of a command's hundreds of requests afresh at every start, probing files,
 * following links and reading package.json files, about a tenth of a small sync's start.
 *
 * What a resolution depends on is kept with it: the stamp (inode and change time) of every
 * directory node searched or that holds the file it found — a file added, removed or renamed there
 * changes it — and of each package.json that could name the file (`main`, `exports`, `imports`, the
 * package's own name). When any stamp differs, or node's version or options do, none of the file is
 * used: a later install, an upgrade or a rebuild that adds files resolves afresh, and the process
 * keeps what it resolved. Requests with `paths`, the main module and built-ins go the usual way.
 */
export class ResolveCache {
  private hits = 0;
  private misses = 0;
  private written = false;
  /** Resolutions that hold (read, then checked) and those made this process. */
  private readonly resolved = new Map<string, string>();
  private readonly stamps = new Map<string, string | null>();
  /** What this process found on disk, so that resolving afresh stats each path once. */
  private readonly probed = new Map<string, string | null>();
  private readonly realDirs = new Map<string, string>();
  private readonly scopes = new Map<string, string | undefined>();
  private fresh = false;
  private original: ResolveFunction | undefined;

  private constructor(private readonly file: string) {}

  /**
   * Answers `require` requests from now on from the resolutions kept in `dir` (created 0700) while
   * they hold, and keeps the process's at its end. Undefined, changing nothing, when the directory
   * cannot be used (not this user's, or writable by others).
   */
  static enable(dir: string): ResolveCache | undefined {
    if (!trustedCacheDir(dir)) return undefined;
    // a file per node version and options, so that processes run differently do not overwrite each other's
    const cache = new ResolveCache(path.join(dir, SUBDIR, `${hash('sha1', resolutionContext()).slice(0, 16)}.json`));
    cache.load();
    cache.install();
    process.once('exit', () => cache.keep());
    return cache;
  }

  stats(): ResolveCacheStats {
    return { hits: this.hits, misses: this.misses, written: this.written };
  }

  /** Writes the resolutions that hold and those made this process, if there are new ones, and stops answering. */
  keep(): void {
    this.uninstall();
    if (this.fresh) this.write();
    debug('%s: %d requests from kept paths, %d resolved%s', path.dirname(path.dirname(this.file)), this.hits, this.misses, this.written ? ', kept' : '');
  }

  private write(): void {
    this.fresh = false;
    const stamps: Record<string, string | null> = {};
    for (const [where, stamp] of this.stamps) {
      // what is absent appears only with a change to its directory's stamp (or to its absence), if that is kept
      if (stamp === null && this.stamps.has(path.dirname(where))) continue;
      stamps[where] = stamp;
    }
    const kept: KeptFile = { layout: LAYOUT, context: resolutionContext(), stamps, resolved: Object.fromEntries(this.resolved) };
    this.written = writeCacheFile(this.file, JSON.stringify(kept));
  }

  /** Takes the kept resolutions if every stamp they were made under still holds. */
  private load(): void {
    let kept: Partial<KeptFile>;
    try {
      kept = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Partial<KeptFile>;
    } catch {
      return;
    }
    if (kept.layout !== LAYOUT || kept.context !== resolutionContext() || !isRecord(kept.stamps) || !isRecord(kept.resolved)) return;
    for (const [where, stamp] of Object.entries(kept.stamps)) if (stampOf(where) !== stamp) return;
    for (const [where, stamp] of Object.entries(kept.stamps)) this.stamps.set(where, stamp);
    for (const [key, filename] of Object.entries(kept.resolved)) if (typeof filename === 'string') this.resolved.set(key, filename);
  }

  private install(): void {
    const modules = Module as unknown as ModuleInternals;
    const original = (this.original = modules._resolveFilename);
    const cache = this;
    modules._resolveFilename = function (this: unknown, request: string, parent: Module | undefined, isMain: boolean, options?: unknown) {
      const from = parent?.filename;
      if (isMain || options !== undefined || typeof from !== 'string' || isBuiltin(request)) return original.call(this, request, parent, isMain, options);
      const parentDir = path.dirname(from);
      const key = `${parentDir}\0${request}`;
      const kept = cache.resolved.get(key);
      if (kept !== undefined) {
        cache.hits++;
        return kept;
      }
      const filename = original.call(this, request, parent, isMain, options);
      cache.misses++;
      if (!isBuiltin(filename)) cache.note(key, request, parent!, parentDir, filename);
      return filename;
    };
  }

  private uninstall(): void {
    if (this.original === undefined) return;
    (Module as unknown as ModuleInternals)._resolveFilename = this.original;
    this.original = undefined;
  }

  /** Keeps one resolution with the stamps of what it was read from (see the class's doc). */
  private note(key: string, request: string, parent: Module, parentDir: string, filename: string): void {
    const stamp = (where: string): string | null => {
      let value = this.stamps.get(where);
      if (value === undefined) this.stamps.set(where, (value = this.probe(where)));
      return value;
    };
    stamp(path.dirname(filename));
    if (path.isAbsolute(request) || request.startsWith('./') || request.startsWith('../') || request === '.' || request === '..') {
      const base = path.resolve(parentDir, request);
      stamp(path.dirname(base));
      // a directory's package.json names its main file; `base` made a directory later changes the stamp above
      if (filename.startsWith(base + path.sep)) stamp(path.join(base, 'package.json'));
    } else {
      // the parent's own package.json (`imports`, and a package requiring itself by name), then
      // each node_modules directory node searched, and the package in it
      const scope = this.packageJsonAbove(parentDir);
      if (scope !== undefined) stamp(scope);
      const name = packageName(request);
      for (const modulesDir of (Module as unknown as ModuleInternals)._resolveLookupPaths(request, parent) ?? []) {
        if (stamp(modulesDir) === null || name === undefined) continue;
        if (name.startsWith('@') && stamp(path.join(modulesDir, name.slice(0, name.indexOf('/')))) === null) continue;
        const packageDir = path.join(modulesDir, name);
        if (this.probe(packageDir) === null) continue;
        stamp(path.join(packageDir, 'package.json'));
        const base = path.join(modulesDir, request);
        if (base !== packageDir) {
          stamp(path.dirname(base));
          if (filename.startsWith(base + path.sep)) stamp(path.join(base, 'package.json'));
        }
        // node took it from here, unless this package lacks what was asked and it searched on
        if (filename.startsWith(this.realDir(packageDir) + path.sep)) break;
      }
    }
    this.resolved.set(key, filename);
    this.fresh = true;
  }

  private probe(where: string): string | null {
    let value = this.probed.get(where);
    if (value === undefined) this.probed.set(where, (value = stampOf(where)));
    return value;
  }

  private realDir(dir: string): string {
    let real = this.realDirs.get(dir);
    if (real === undefined) {
      try {
        real = fs.realpathSync(dir);
      } catch {
        real = dir;
      }
      this.realDirs.set(dir, real);
    }
    return real;
  }

  /** The nearest package.json at or above `dir`, which node reads a directory's package scope from. */
  private packageJsonAbove(dir: string): string | undefined {
    if (this.scopes.has(dir)) return this.scopes.get(dir);
    let found: string | undefined;
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'package.json');
      const up = path.dirname(dir);
      found = this.probe(candidate) !== null ? candidate : up === dir ? undefined : this.packageJsonAbove(up);
    }
    this.scopes.set(dir, found);
    return found;
  }
}

/** What besides the files decides where node resolves a request. */
function resolutionContext(): string {
  return JSON.stringify([process.version, process.env.NODE_PATH ?? '', process.env.NODE_OPTIONS ?? '', process.execArgv]);
}

/** Identifies a file's or directory's current state: a file created, removed or renamed in a directory changes the directory's. */
function stampOf(where: string): string | null {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(where, { throwIfNoEntry: false });
  } catch {
    // not a directory on the way (ENOTDIR), or not readable: not there, for node too
    return null;
  }
  return stat === undefined ? null : `${stat.ino}:${stat.ctimeMs}`;
}

/** The package a bare request names (`a` of `a/b`, `@s/a` of `@s/a/b`), or undefined. */
function packageName(request: string): string | undefined {
  const parts = request.split('/');
  if (parts[0]!.startsWith('@')) return parts.length >= 2 && parts[1] !== '' ? `${parts[0]}/${parts[1]}` : undefined;
  return parts[0] === '' ? undefined : parts[0];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
