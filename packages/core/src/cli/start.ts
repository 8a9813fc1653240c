import { limitHeapHeadroom, SERVE_HEAP_GROWING_PERCENT, SMALL_SYNC_HEAP_GROWING_PERCENT, SYNC_HEAP_GROWING_PERCENT } from '../host/heap-headroom.js';
import { commandWord, storeOption } from './command-word.js';
import { skipWasmTierUp } from './wasm-tier-up.js';

/** Runs the `tributary` command `args` in this process (see main.ts), setting its exit code. */
export function start(args: readonly string[]): void {
  // `serve` (and any command naming a repository `serve`) runs for long: it keeps optimised wasm,
  // and a heap headroom of its own (see SERVE_HEAP_GROWING_PERCENT)
  const serving = args.includes('serve');
  // a sync on the embedded catalog starts small (smallUntilProvenLarge): its headroom is set here
  // already, so the flags do not change while the command's modules load (see CompileCache)
  const smallSync = commandWord(args) === 'sync' && storeOption(args)?.startsWith('mongodb') !== true;
  limitHeapHeadroom(serving ? SERVE_HEAP_GROWING_PERCENT : smallSync ? SMALL_SYNC_HEAP_GROWING_PERCENT : SYNC_HEAP_GROWING_PERCENT);
  if (!serving) skipWasmTierUp();

  // after the flags, so the modules of the command compile (and are kept) under them
  const { runCli } = require('./run-cli.js') as typeof import('./run-cli.js');
  const { DEFAULT_PROGRESS_SECONDS } = require('./sync-progress.js') as typeof import('./sync-progress.js');
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  process.once('SIGTERM', () => controller.abort(new Error('terminated')));
  const io = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), signal: controller.signal, progressSeconds: DEFAULT_PROGRESS_SECONDS };
  runCli([...args], io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`error: ${String((error as Error)?.stack ?? error)}\n`);
      process.exitCode = 1;
    },
  );
}
