/**
 * Orphan cleanup running while a sync starts loses nothing of the sync. The sync re-uses units and
 * artifacts that are orphans when it starts (found by key and digest, not downloaded again) and
 * stores new ones; cleanup (no protection time) deletes every orphan it sees. Whatever the
 * interleaving (cleanup refused because the sync holds its lease, the sync waiting for cleanup to
 * finish, or one wholly before the other), every file of the version the sync commits is in
 * storage with the bytes its digest names. Run many times with random offsets; nothing here
 * depends on how fast anything is.
 *
 * Half the iterations start cleanup first and hold its delete until the sync has looked up which
 * artifacts exist (or half a second has passed): the interleaving in which a cleanup that had
 * checked the leases before the sync took its own deleted what the sync had just found stored.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHost, SqliteWorkerStore, type ContentStore, type Host } from '@tributary/core';
import { startFixtureServer, type FixtureServer } from '@tributary/conformance';
import { fileImporter } from '@tributary/importer-file';
import { isTributaryError } from '@tributary/plugin-api';

const ITERATIONS = 20;
/** Files every iteration's two repositories share: orphans once the first is deleted. */
const SHARED = 150;
/** Files of each repository alone. */
const OWN = 40;

const sha256 = (body: string | Buffer) => createHash('sha256').update(body).digest('hex');

/** A PULP_MANIFEST directory `dir` listing `shared` and its own files; returns its files. */
function fileRepo(dir: string, iteration: number, own: string): Record<string, string> {
  const files: Record<string, string> = {};
  const lines: string[] = [];
  const add = (name: string, body: string) => {
    files[`${dir}/${name}`] = body;
    lines.push(`${name},${sha256(body)},${Buffer.byteLength(body)}`);
  };
  for (let i = 0; i < SHARED; i++) add(`shared/file-${i}.txt`, `iteration ${iteration} shared ${i}\n`.repeat(8));
  for (let i = 0; i < OWN; i++) add(`${own}/file-${i}.txt`, `iteration ${iteration} ${own} ${i}\n`.repeat(8));
  files[`${dir}/PULP_MANIFEST`] = `${lines.join('\n')}\n`;
  return files;
}

/** While armed, `deleteOrphans` waits for the next `findArtifacts` (at most half a second) before it runs. */
let armed: { found: Promise<void>; seen(): void } | undefined;

function arm(): void {
  let seen!: () => void;
  const found = new Promise<void>((resolve) => (seen = resolve));
  armed = { found, seen };
}

/** The store, with orphan cleanup's delete held back while {@link armed}. */
function interleaving(store: ContentStore): ContentStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property === 'findArtifacts') {
        return (...args: Parameters<ContentStore['findArtifacts']>) => {
          armed?.seen();
          return target.findArtifacts(...args);
        };
      }
      if (property === 'deleteOrphans') {
        return async (...args: Parameters<ContentStore['deleteOrphans']>) => {
          const held = armed;
          if (held) await Promise.race([held.found, new Promise((resolve) => setTimeout(resolve, 500))]);
          return target.deleteOrphans(...args);
        };
      }
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('orphan cleanup against a sync starting meanwhile', () => {
  let work: string;
  let server: FixtureServer;
  let host: Host;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'tributary-cleanup-race-'));
    let files: Record<string, string> = {};
    for (let i = 0; i < ITERATIONS; i++) files = { ...files, ...fileRepo(`old-${i}`, i, 'old'), ...fileRepo(`new-${i}`, i, 'new') };
    server = await startFixtureServer({ files });
    host = await createHost({ storageRoot: path.join(work, 'storage'), plugins: [fileImporter], store: interleaving(new SqliteWorkerStore(path.join(work, 'catalog.db'))) });
  });
  afterAll(async () => {
    await host?.close();
    await server?.close();
    await rm(work, { recursive: true, force: true });
  });

  /** Every file of the repository's latest version is stored, with the bytes its sha256 names. */
  async function expectIntact(repository: string): Promise<void> {
    let files = 0;
    for await (const unit of host.units(repository)) {
      for (const artifact of unit.artifacts) {
        expect(artifact.stored).toBe(true);
        const bytes = await readFile(host.storage.pathFor(artifact.sha256!)).catch(() => undefined);
        expect(bytes === undefined ? `${unit.key['relativePath']}: missing` : sha256(bytes)).toBe(artifact.sha256);
        files++;
      }
    }
    expect(files).toBe(SHARED + OWN);
  }

  it(`loses nothing, ${ITERATIONS} times over, whichever starts first`, async () => {
    const outcomes = { cleanupRefused: 0, cleanupRan: 0 };
    for (let i = 0; i < ITERATIONS; i++) {
      // the shared units and files become orphans: the repository that held them is gone
      await host.createRepository({ name: `old-${i}` });
      await host.sync(`old-${i}`, { importer: 'file', url: server.urlFor(`old-${i}/PULP_MANIFEST`) });
      await host.deleteRepository(`old-${i}`);

      await host.createRepository({ name: `new-${i}` });
      const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      const cleanupFirst = i % 2 === 0;
      const offset = Math.floor(Math.random() * 30);
      if (cleanupFirst) arm();
      const sync = (async () => {
        if (cleanupFirst) await pause(offset);
        return host.sync(`new-${i}`, { importer: 'file', url: server.urlFor(`new-${i}/PULP_MANIFEST`) });
      })();
      const cleanup = (async () => {
        if (!cleanupFirst) await pause(offset);
        try {
          await host.cleanupOrphans({ protectMinutes: 0 });
          outcomes.cleanupRan++;
        } catch (error) {
          // refused because the sync holds its repository's lease: allowed, and nothing is lost
          if (!isTributaryError(error, 'TRIBUTARY_ERR_REPO_BUSY')) throw error;
          outcomes.cleanupRefused++;
        }
      })();
      const [synced] = await Promise.all([sync, cleanup]);
      armed = undefined;
      expect(synced.version).toBe(1);
      await expectIntact(`new-${i}`);

      // once both are done, cleanup removes what no version holds, and still nothing of the sync
      await host.cleanupOrphans({ protectMinutes: 0 });
      await expectIntact(`new-${i}`);
      await host.deleteRepository(`new-${i}`);
    }
    expect(outcomes.cleanupRan + outcomes.cleanupRefused).toBe(ITERATIONS);
  }, 900_000);
});
