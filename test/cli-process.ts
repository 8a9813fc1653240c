import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '@tributary/core';

/** The compiled CLI; `npm test` builds it (tsc -b) before jest runs. */
export const CLI_ENTRY = path.resolve(__dirname, '..', 'packages', 'core', 'dist', 'cli', 'main.js');

export function cliBuilt(): boolean {
  return existsSync(CLI_ENTRY);
}

export interface CliProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `tributary` as a separate host process. */
export function spawnCli(argv: readonly string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<CliProcessResult> } {
  // no progress lines unless a test asks: a sync slow on a busy machine must not change stderr
  // (a variable given as undefined is left out, so a test can see the CLI's own default)
  const merged: NodeJS.ProcessEnv = { ...process.env, TRIBUTARY_PROGRESS_SECONDS: '0', ...env };
  for (const name of Object.keys(merged)) if (merged[name] === undefined) delete merged[name];
  const child = spawn(process.execPath, [CLI_ENTRY, ...argv], { env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliProcessResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Runs `tributary --home HOME …` in this process, its output collected; env is empty unless given. */
export async function runCliIn(home: string, argv: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['--home', home, ...argv], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd: home,
  });
  return { code, stdout, stderr };
}

/** The relative paths of a file repository's latest units, sorted, as `units --json` lists them. */
export async function unitRelativePaths(home: string, repo: string): Promise<string[]> {
  const run = await runCliIn(home, ['--json', 'units', repo]);
  if (run.code !== 0) throw new Error(`units ${repo} failed (${run.code}): ${run.stderr}`);
  return run.stdout
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { key: { relativePath: string } }).key.relativePath)
    .sort();
}
