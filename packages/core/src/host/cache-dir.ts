import fs from 'node:fs';
import path from 'node:path';

/**
 * The CLI's cache directory: `TRIBUTARY_CACHE_DIR`, else `$XDG_CACHE_HOME/tributary`, else
 * `~/.cache/tributary`; none when `TRIBUTARY_CACHE_DIR` is `off` or there is no home directory.
 */
export function cacheBaseDir(env: NodeJS.ProcessEnv): string | undefined {
  const chosen = env.TRIBUTARY_CACHE_DIR;
  if (chosen === 'off') return undefined;
  let base = chosen || (env.XDG_CACHE_HOME ? path.join(env.XDG_CACHE_HOME, 'tributary') : undefined);
  if (!base) {
    const home = env.HOME;
    if (!home) return undefined;
    base = path.join(home, '.cache', 'tributary');
  }
  return path.resolve(base);
}

/**
 * Whether `dir` is a directory this user owns and no one else may write to, which a cache whose
 * files are run as code must be. Made first (0700) if it is not there, unless `create` is false.
 */
export function trustedCacheDir(dir: string, options: { readonly create?: boolean } = {}): boolean {
  let stat: fs.Stats;
  try {
    if (options.create !== false) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    stat = fs.statSync(dir);
  } catch {
    return false;
  }
  const uid = process.getuid?.();
  return stat.isDirectory() && (uid === undefined || stat.uid === uid) && (stat.mode & 0o022) === 0;
}

/**
 * Writes a cache file whole or not at all (a temporary name, then a rename), readable only by this
 * user, creating its directory (0700). False when it could not: a cache that cannot be written is no cache.
 */
export function writeCacheFile(file: string, data: string | Uint8Array): boolean {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(temp, data, { mode: 0o600 });
    fs.renameSync(temp, file);
    return true;
  } catch {
    fs.rmSync(temp, { force: true });
    return false;
  }
}
