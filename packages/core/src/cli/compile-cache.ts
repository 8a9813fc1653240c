import { hash } from 'node:crypto';
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { cachedDataVersionTag } from 'node:v8';
import { debuglog } from 'node:util';
import vm from 'node:vm';
import { cacheBaseDir, trustedCacheDir, writeCacheFile } from '../host/cache-dir.js';
import { commandWord } from './command-word.js';
import { ResolveCache } from './resolve-cache.js';

const debug = debuglog('tributary:compile-cache');

/** Bumped when the files' layout changes, so files of an older one are not read. */
const LAYOUT = 1;
/** Kept code no process wrote for this many days is removed (see CompileCache.prune). */
const STALE_DAYS = 30;
/** The sha1 of the source a file's code was compiled from, ahead of V8's data. */
const SOURCE_HASH_BYTES = 20;

export interface CompileCacheStats {
  /** Modules compiled from kept code, and modules compiled from source (none kept, or V8 refused it). */
  readonly hits: number;
  readonly misses: number;
  /** Files written at the end of the process. */
  readonly written: number;
}

type CompileFunction = (this: Module, content: string, filename: string, format?: string) => unknown;
interface ModuleInternals {
  prototype: { _compile: CompileFunction };
  _resolveFilename(request: string, parent: Module, isMain: boolean, options?: { paths?: string[] }): string;
  _resolveLookupPaths(request: string, parent: Module): string[] | null;
  _extensions: unknown;
  _cache: unknown;
  wrap(script: string): string;
}

/**
 * Keeps V8's compiled code of the CommonJS modules a process loads, in `dir`, and compiles them
 * from it in later processes: node 20 compiles every module from source at every start (node 22's
 * `module.enableCompileCache` does what this does), about a tenth of a small sync's time.
 *
 * The code is taken at the end of the process, so it holds the functions that ran, not only the
 * top level; a module is kept once, and functions only later processes run are compiled from
 * source in each (hence a set per kind of command, see {@link enableCliCompileCache}). Each file
 * is named by the module's path and holds a hash of the source it was compiled from; V8 checks its
 * own version, flags and CPU (the files are kept per `cachedDataVersionTag()`). A changed source, or code V8 refuses, is compiled from source and
 * kept anew; a failure to read or write the directory only means no cache.
 *
 * Code in these files is run, so the directory must be this user's and writable by no one else
 * ({@link trustedCacheDir}); otherwise nothing is kept. ESM, modules that use `import()`, and
 * modules the process loads with source maps enabled, go the usual way.
 */
export class CompileCache {
  private hits = 0;
  private misses = 0;
  private written = 0;
  /** Modules compiled from source this process, to keep at its end. */
  private readonly fresh: { file: string; tag: number; sourceHash: Buffer; script: vm.Script }[] = [];
  private original: CompileFunction | undefined;

  private constructor(private readonly dir: string) {}

  /**
   * Compiles the modules required from now on through the cache in `dir` (created 0700), and
   * keeps what was compiled afresh when the process exits. Undefined, changing nothing, when the
   * directory cannot be used.
   */
  static enable(dir: string): CompileCache | undefined {
    if (!trustedCacheDir(dir)) return undefined;
    const cache = new CompileCache(dir);
    cache.install();
    process.once('exit', () => cache.keep());
    return cache;
  }

  stats(): CompileCacheStats {
    return { hits: this.hits, misses: this.misses, written: this.written };
  }

  /**
   * Writes the code of the modules compiled from source (each whole or not at all) and stops
   * caching. Code is written under the flags it was compiled with: V8 checks it against them.
   */
  keep(): void {
    this.uninstall();
    const fresh = this.fresh.splice(0);
    const now = cachedDataVersionTag();
    const write = (entries: typeof fresh): void => {
      for (const entry of entries) if (cachedDataVersionTag() === entry.tag) this.write(entry.file, entry.sourceHash, entry.script);
    };
    write(fresh.filter((entry) => entry.tag === now));
    const before = fresh.filter((entry) => entry.tag !== now);
    // compiled before the command changed V8's flags (see changeV8Flag)
    if (before.length > 0) (require('@tributary/plugin-api') as typeof import('@tributary/plugin-api')).withDefaultV8Flags(() => write(before));
    if (fresh.length > 0) this.prune();
    debug('%s: %d modules from kept code, %d compiled, %d kept', this.dir, this.hits, this.misses, this.written);
  }

  /**
   * Removes what no process kept for {@link STALE_DAYS}: files of modules no longer loaded from
   * there (an old install's paths, a changed module's), and the sets of flags and V8 versions
   * no longer run. Done by a process that wrote, so a run that only reads pays nothing; a file
   * still in use but kept that long ago is compiled and kept again.
   */
  private prune(): void {
    const before = Date.now() - STALE_DAYS * 86_400_000;
    const stale = (entry: string): boolean => {
      try {
        return fs.statSync(entry).mtimeMs < before;
      } catch {
        return false;
      }
    };
    try {
      for (const set of fs.readdirSync(this.dir)) {
        const setDir = path.join(this.dir, set);
        for (const name of fs.readdirSync(setDir)) {
          const file = path.join(setDir, name);
          if (stale(file)) fs.rmSync(file, { force: true });
        }
        if (fs.readdirSync(setDir).length === 0) fs.rmdirSync(setDir);
      }
    } catch {
      // another process pruning, or a directory that cannot be read: next time
    }
  }

  private write(file: string, sourceHash: Buffer, script: vm.Script): void {
    const data = script.createCachedData();
    if (data.length > 0 && writeCacheFile(file, Buffer.concat([sourceHash, data]))) this.written++;
  }

  private install(): void {
    const modules = Module as unknown as ModuleInternals;
    const original = (this.original = modules.prototype._compile);
    const cache = this;
    modules.prototype._compile = function (this: Module, content: string, filename: string, format?: string) {
      // import() in code compiled by vm needs a loader node 20 calls experimental (and loses with
      // kept code): such a module goes the usual way, as do ESM and modules under source maps
      if (format === 'module' || process.sourceMapsEnabled || content.includes('import(')) return original.call(this, content, filename, format);
      const compiled = cache.compile(content, filename);
      if (compiled === undefined) return original.call(this, content, filename, format);
      return compiled.call(this.exports, this.exports, requireFor(this, modules), this, filename, path.dirname(filename));
    };
  }

  private uninstall(): void {
    if (this.original === undefined) return;
    (Module as unknown as ModuleInternals).prototype._compile = this.original;
    this.original = undefined;
  }

  /** The module's wrapper function, compiled from kept code when there is some; undefined on a syntax error (node then reports it, or loads the file as ESM). */
  private compile(content: string, filename: string): ((...args: unknown[]) => unknown) | undefined {
    const source = content.startsWith('#!') ? `//${content}` : content;
    const sourceHash = hash('sha1', source, 'buffer');
    const tag = cachedDataVersionTag();
    const file = path.join(this.dir, tagDir(tag), `${hash('sha1', filename)}.bin`);
    const kept = readKept(file, sourceHash);
    let script: vm.Script;
    try {
      script = new vm.Script((Module as unknown as ModuleInternals).wrap(source), {
        filename,
        ...(kept !== undefined ? { cachedData: kept } : {}),
      });
    } catch {
      return undefined;
    }
    if (kept !== undefined && !script.cachedDataRejected) this.hits++;
    else {
      this.misses++;
      this.fresh.push({ file, tag, sourceHash, script });
    }
    return script.runInThisContext() as (...args: unknown[]) => unknown;
  }
}

const tagDir = (tag: number): string => `v${LAYOUT}-${tag.toString(16)}`;

/** The V8 data kept in `file` for the source hashed `sourceHash`, or undefined. */
function readKept(file: string, sourceHash: Buffer): Buffer | undefined {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  if (bytes.length <= SOURCE_HASH_BYTES || !bytes.subarray(0, SOURCE_HASH_BYTES).equals(sourceHash)) return undefined;
  return bytes.subarray(SOURCE_HASH_BYTES);
}

/** The `require` node gives a module (lib/internal/modules/helpers.js makeRequireFunction). */
function requireFor(module: Module, modules: ModuleInternals): NodeJS.Require {
  const require = ((id: string) => module.require(id)) as NodeJS.Require;
  const resolve = ((request: string, options?: { paths?: string[] }) => modules._resolveFilename(request, module, false, options)) as NodeJS.RequireResolve;
  resolve.paths = (request: string) => modules._resolveLookupPaths(request, module);
  require.resolve = resolve;
  require.main = process.mainModule;
  require.extensions = modules._extensions as NodeJS.Require['extensions'];
  require.cache = modules._cache as NodeJS.Require['cache'];
  return require;
}

/** Commands that load a set of modules of their own; every other command shares the set `other`. */
const OWN_SETS: ReadonlySet<string> = new Set(['sync', 'serve', 'publish', 'export']);

/**
 * The `tributary` command's {@link CompileCache} and {@link ResolveCache}: in `code/SET` of the
 * CLI's cache directory ({@link cacheBaseDir}; none with `TRIBUTARY_CACHE_DIR=off`). A module's
 * code is kept with the functions the first process to load it ran, so the commands that run much
 * of their own (a sync, serving) have a set each, and the light commands share one.
 */
export function enableCliCompileCache(args: readonly string[], env: NodeJS.ProcessEnv): CompileCache | undefined {
  const base = cacheBaseDir(env);
  if (base === undefined) return undefined;
  const word = commandWord(args);
  const dir = path.join(base, 'code', word !== undefined && OWN_SETS.has(word) ? word : 'other');
  const cache = CompileCache.enable(dir);
  if (cache !== undefined) ResolveCache.enable(dir);
  return cache;
}
