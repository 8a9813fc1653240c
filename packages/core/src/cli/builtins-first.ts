import { isBuiltin } from 'node:module';

/**
 * Node's own modules load from a code cache built into the node binary, and V8 refuses that cache
 * once a V8 flag has changed at run time (it is checked against a hash of the flags): after
 * `limitHeapHeadroom` or `skipWasmTierUp` each built-in a command loads is compiled from source,
 * several times as slow (docs/performance.md). So the `tributary` command loads the built-ins it
 * will need first, then sets the flags.
 */
const STORE_BUILTINS = ['crypto', 'worker_threads', 'fs/promises', 'stream', 'stream/promises', 'diagnostics_channel'];
/** What a command that downloads or serves loads besides (undici, zlib, fastify's needs). */
const NETWORK_BUILTINS = ['http', 'http2', 'net', 'zlib', 'url', 'assert', 'querystring', 'perf_hooks', 'timers/promises'];

/** The built-ins the command `args` will load: none for `--version` or help, more for `sync` and `serve`. */
export function builtinsFor(args: readonly string[]): readonly string[] {
  const words = args.filter((arg) => !arg.startsWith('-'));
  if (words.length === 0 || words[0] === 'help') return [];
  return words.includes('sync') || words.includes('serve') ? [...STORE_BUILTINS, ...NETWORK_BUILTINS] : STORE_BUILTINS;
}

/** Loads {@link builtinsFor} `args`, before the command sets V8 flags. */
export function loadBuiltinsFirst(args: readonly string[]): void {
  for (const name of builtinsFor(args)) if (isBuiltin(name)) require(`node:${name}`);
}
