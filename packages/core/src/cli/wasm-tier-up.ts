import { changeV8Flag } from '@tributary/plugin-api';

/**
 * Keeps WebAssembly on the code of V8's baseline compiler (`--liftoff-only`) for the rest of the
 * process, unless the process was started with a wasm tiering flag. The only WebAssembly a
 * command runs is undici's HTTP parser, which V8 otherwise recompiles with its optimising compiler
 * on a background thread: CPU a short command pays beside its downloads, and that every thread's
 * exit, and the process's, waits for. The baseline code parses headers and hands bodies on fast
 * enough for a sync (figures in docs/performance.md).
 */
export function skipWasmTierUp(): void {
  if (process.execArgv.some((arg) => /^--(no-)?(liftoff|wasm)/.test(arg))) return;
  changeV8Flag('liftoff-only', '--liftoff-only', ['--no-liftoff-only', '--wasm-tier-up', '--wasm-dynamic-tiering']);
}
