import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The compiled entry `name` of a worker thread whose module lives in `dir` (pass `__dirname`):
 * beside it in the build, or, when tests run that module from `src/`, the same file under `dist/`
 * (a thread always runs the build). Undefined when neither exists, e.g. in a single-file bundle.
 */
export function builtThreadScript(dir: string, name: string): string | undefined {
  const beside = path.join(dir, name);
  if (existsSync(beside)) return beside;
  const built = beside.replace(`${path.sep}src${path.sep}`, `${path.sep}dist${path.sep}`);
  return existsSync(built) ? built : undefined;
}
