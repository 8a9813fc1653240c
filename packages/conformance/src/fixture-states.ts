import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** One state of an upstream repository: a directory on disk, or in-memory files. */
export type FixtureState =
  | { readonly root: string }
  | { readonly files: Readonly<Record<string, string | Buffer>> };

/**
 * The author's fixture repository, in two states the kit serves over HTTP in turn.
 *
 * `changed` is the same repository later. For every rule to be checkable it must, compared with
 * `initial`: drop at least one unit, add at least one unit with a new artifact file, and keep at least
 * one unit (ideally with changed metadata, to show it counts as an update).
 */
export interface ImporterFixtures {
  readonly initial: FixtureState;
  readonly changed: FixtureState;
  /**
   * The sync url's path on the fixture server: `'PULP_MANIFEST'` for an importer whose feed is a
   * manifest's url, `''` (the default) for one whose feed is the repository's base url.
   */
  readonly feedPath?: string;
}

/** A fixture state read into memory, with the sha256 of every file. */
export interface LoadedState {
  readonly name: 'initial' | 'changed' | 'large';
  readonly files: ReadonlyMap<string, Buffer>;
  readonly sha256: ReadonlyMap<string, string>;
  /** The directory it was read from, when it came from disk (the kit checks it stays untouched). */
  readonly root?: string;
}

/** Largest fixture state the kit reads into memory; fixtures are small repositories. */
const MAX_STATE_BYTES = 64 * 1024 * 1024;

/** Reads a fixture state into memory (a directory recursively), so the server can switch states. */
export async function loadFixtureState(name: 'initial' | 'changed' | 'large', state: FixtureState): Promise<LoadedState> {
  const files = new Map<string, Buffer>();
  let root: string | undefined;
  if ('root' in state) {
    root = path.resolve(state.root);
    let total = 0;
    for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
      if (!entry.isFile()) continue;
      const file = path.join(entry.parentPath, entry.name);
      const bytes = await readFile(file);
      total += bytes.length;
      if (total > MAX_STATE_BYTES) {
        throw new Error(`fixture state '${name}' (${root}) holds more than ${MAX_STATE_BYTES} bytes; conformance fixtures should be small repositories`);
      }
      files.set(path.relative(root, file).split(path.sep).join('/'), bytes);
    }
  } else if ('files' in state) {
    for (const [name, body] of Object.entries(state.files)) files.set(name.replace(/^\/+/, ''), typeof body === 'string' ? Buffer.from(body) : body);
  } else {
    throw new Error(`fixture state '${name}' must be { root: directory } or { files: { path: content } }`);
  }
  if (files.size === 0) throw new Error(`fixture state '${name}' has no files`);
  const sha256 = new Map<string, string>();
  for (const [file, bytes] of files) sha256.set(file, createHash('sha256').update(bytes).digest('hex'));
  return { name, files, sha256, ...(root !== undefined ? { root } : {}) };
}
