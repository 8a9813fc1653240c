import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHost, type CreateHostOptions, type Host, type RepoUnitView } from '@tributary/core';

export interface TestHostOptions {
  /** Importers to register (plugin objects, or `{ plugin, config }`). */
  readonly plugins: CreateHostOptions['plugins'];
  /** The catalog; defaults to an embedded SQLite file inside the storage root. */
  readonly store?: CreateHostOptions['store'];
  /** Units per store round trip (default 1000). */
  readonly batchSize?: number;
}

/** A real host on a fresh temporary directory. */
export interface TestHost {
  readonly host: Host;
  /** The temporary directory holding everything of this host. */
  readonly dir: string;
  /** The host's storage root (`artifacts/`, `tmp/`, `working/`, and the catalog by default). */
  readonly storageRoot: string;
  /** The units of a repository's latest version (or of `version`), as an array. */
  units(repository: string, options?: { typeId?: string; version?: number }): Promise<RepoUnitView[]>;
  /**
   * Files left in the storage's temporary area, and downloads staged beside their content address
   * (`artifacts/…/*.part`) that were never stored: none between syncs, whatever happened.
   */
  tempLeftovers(): Promise<string[]>;
  /** Closes the host and removes its directory. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a real host (`createHost`) on the embedded store in a fresh temporary directory.
 *
 * Under jest, a host started inside a test is closed and removed after that test, and one started
 * in `beforeAll` after the file's tests; calling `close()` earlier is fine.
 *
 * @example
 * ```ts
 * const { host, units } = await startTestHost({ plugins: [myImporter] });
 * await host.createRepository({ name: 'r' });
 * await host.sync('r', { importer: 'mine', url: server.url });
 * expect(await units('r')).toHaveLength(3);
 * ```
 */
export async function startTestHost(options: TestHostOptions): Promise<TestHost> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tributary-test-host-'));
  const storageRoot = path.join(dir, 'storage');
  let host: Host;
  try {
    host = await createHost({
      storageRoot,
      plugins: options.plugins ?? [],
      ...(options.store !== undefined ? { store: options.store } : {}),
      ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  let closing: Promise<void> | undefined;
  const testHost: TestHost = {
    host,
    dir,
    storageRoot,
    async units(repository, unitOptions = {}) {
      const units: RepoUnitView[] = [];
      for await (const unit of host.units(repository, unitOptions)) units.push(unit);
      return units;
    },
    tempLeftovers: async () => [
      ...(await listFiles(path.join(storageRoot, 'tmp'))),
      ...(await listFiles(path.join(storageRoot, 'artifacts'))).filter((file) => file.endsWith('.part')),
    ],
    close() {
      closing ??= (async () => {
        open.delete(testHost);
        try {
          await host.close();
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      })();
      return closing;
    },
  };
  open.set(testHost, insideTest() ? 'test' : 'file');
  return testHost;
}

/** Hosts not closed yet, and whether they belong to the running test or to the whole file. */
const open = new Map<TestHost, 'test' | 'file'>();

async function closeOpen(scope: 'test' | 'file'): Promise<void> {
  const closing = [...open].filter(([, s]) => scope === 'file' || s === 'test').map(([h]) => h.close());
  await Promise.all(closing);
}

function insideTest(): boolean {
  const expectGlobal = (globalThis as { expect?: { getState?: () => { currentTestName?: string } } }).expect;
  return typeof expectGlobal?.getState === 'function' && expectGlobal.getState().currentTestName !== undefined;
}

// Registered once per test file (jest gives each file its own module registry).
const hooks = globalThis as { afterEach?: (fn: () => Promise<void>) => void; afterAll?: (fn: () => Promise<void>) => void };
if (typeof hooks.afterEach === 'function' && typeof hooks.afterAll === 'function') {
  hooks.afterEach(() => closeOpen('test'));
  hooks.afterAll(() => closeOpen('file'));
}

/** Every regular file under `root`, recursively; none when it does not exist. */
export async function listFiles(root: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}
