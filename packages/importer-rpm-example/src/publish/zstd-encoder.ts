import { ErrorCodes, TributaryError } from '@tributary/plugin-api';

/** zstd's own default level (what the `zstd` command writes). */
export const ZSTD_LEVEL = 3;

/**
 * Where zstd-napi's low-level binding is, checked loadable. Node 20's zlib has no zstd encoder;
 * zstd-napi is an optional native dependency (built from source at install), so a machine where it
 * did not build still publishes gz and is told, with a typed error, why zstd is refused.
 */
export function zstdBindingPath(): string {
  try {
    const resolved = require.resolve('zstd-napi/binding');
    // loaded here, not only in the thread that compresses, so a broken build fails before generation
    const binding = require(resolved) as { CCtx?: unknown };
    if (typeof binding.CCtx !== 'function') throw new Error('its binding has no compression context');
    return resolved;
  } catch (error) {
    throw new TributaryError(
      ErrorCodes.COMPRESSION_UNSUPPORTED,
      `zstd compression is unavailable: the optional dependency zstd-napi could not be loaded (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); publish with compression 'gz', or install zstd-napi (it builds from source with node-gyp)`,
      { cause: error, details: { compression: 'zstd', dependency: 'zstd-napi' } },
    );
  }
}
