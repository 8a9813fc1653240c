#!/usr/bin/env node
import { limitHeapHeadroom, SERVE_HEAP_GROWING_PERCENT, SYNC_HEAP_GROWING_PERCENT } from '../host/heap-headroom.js';
import { loadBuiltinsFirst } from './builtins-first.js';
import { runCli } from './run-cli.js';
import { DEFAULT_PROGRESS_SECONDS } from './sync-progress.js';
import { skipWasmTierUp } from './wasm-tier-up.js';

// `serve` (and any command naming a repository `serve`) runs for long: it keeps optimised wasm, and
// a heap headroom of its own (see SERVE_HEAP_GROWING_PERCENT)
const serving = process.argv.slice(2).includes('serve');
// before the flags: built-ins loaded after them miss node's code cache (see loadBuiltinsFirst)
loadBuiltinsFirst(process.argv.slice(2));
limitHeapHeadroom(serving ? SERVE_HEAP_GROWING_PERCENT : SYNC_HEAP_GROWING_PERCENT);
if (!serving) skipWasmTierUp();

const controller = new AbortController();
process.once('SIGINT', () => controller.abort(new Error('interrupted')));
process.once('SIGTERM', () => controller.abort(new Error('terminated')));
const io = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), signal: controller.signal, progressSeconds: DEFAULT_PROGRESS_SECONDS };
runCli(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`error: ${String((error as Error)?.stack ?? error)}\n`);
    process.exitCode = 1;
  },
);
