import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '@tributary/plugin-api';
import type { ValidateFunction } from 'ajv';
import { cacheBaseDir, trustedCacheDir, writeCacheFile } from './cache-dir.js';

/** Bumped when what is cached changes shape, so files of an older layout are not read. */
const LAYOUT = 1;

/**
 * Compiled JSON Schema validators kept on disk across processes, as ajv's standalone code: a
 * command that validates with a schema an earlier process compiled loads its validator (a few
 * milliseconds) instead of loading ajv and compiling it (tens of milliseconds for an importer's
 * metadata schema, on every sync). Each file is named by a hash of the schema, ajv's version and
 * its options, so a changed schema or a new ajv compiles afresh. A schema that passed the
 * registration check against the meta-schema is noted too, so that check is made once.
 *
 * The directory is the user's own (created 0700; one whose owner is someone else, or that others
 * may write to, is not read from, since its files are run as code). Every failure to read or write
 * it is ignored: the validator is compiled as if there were no cache.
 */
export class SchemaCache {
  private trusted: boolean | undefined;

  /** @param salt what else a validator depends on: ajv's version and options. */
  constructor(
    readonly dir: string,
    private readonly salt: string,
  ) {}

  /** The cache key of a schema. */
  key(schema: unknown): string {
    return createHash('sha256').update(`${LAYOUT}\0${this.salt}\0${canonicalJson(schema)}`).digest('hex');
  }

  /** Whether the schema of `key` passed the meta-schema before (or compiled, which includes that). */
  checked(key: string): boolean {
    return this.usable() && (fs.existsSync(this.file(key, '.checked')) || fs.existsSync(this.file(key)));
  }

  /** Notes that the schema of `key` passed the meta-schema. */
  markChecked(key: string): void {
    this.write(key, '.checked', '');
  }

  /** The kept validator for `key`, or undefined. */
  load(key: string): ValidateFunction | undefined {
    if (!this.usable()) return undefined;
    let code: string;
    try {
      code = fs.readFileSync(this.file(key), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const module = { exports: {} as unknown };
      // standalone code is a CommonJS module requiring ajv's runtime helpers, resolved from here
      new Function('module', 'exports', 'require', code)(module, module.exports, require);
      return typeof module.exports === 'function' ? (module.exports as ValidateFunction) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Keeps a validator's standalone code. */
  store(key: string, code: string): void {
    this.write(key, '.js', code);
  }

  /** Writes a file whole or not at all. */
  private write(key: string, suffix: string, text: string): void {
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      if (!this.usable()) return;
      writeCacheFile(this.file(key, suffix), text);
    } catch {
      // a cache that cannot be written is no cache
    }
  }

  private file(key: string, suffix = '.js'): string {
    return path.join(this.dir, `${key}${suffix}`);
  }

  /** The directory exists, is this user's and no one else may write to it (checked once it exists). */
  private usable(): boolean {
    if (this.trusted !== undefined) return this.trusted;
    if (!fs.existsSync(this.dir)) return false; // not there yet: write() creates it
    this.trusted = trustedCacheDir(this.dir, { create: false });
    return this.trusted;
  }
}

/**
 * Where the CLI keeps compiled schemas: `TRIBUTARY_CACHE_DIR`, else `$XDG_CACHE_HOME/tributary`,
 * else `~/.cache/tributary` (then `schemas/` in it); none when `TRIBUTARY_CACHE_DIR` is `off` or
 * there is no home directory.
 */
export function schemaCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  const base = cacheBaseDir(env);
  return base === undefined ? undefined : path.join(base, 'schemas');
}
