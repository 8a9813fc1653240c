import BetterSqlite3 from 'better-sqlite3';
import type { ContentStore } from '../../src/store/content-store.js';

/**
 * Makes the catalog in `file` lose a whole group: a trigger rolls back the transaction when unit
 * `poison` is associated. Then writes units `a` and `poison` (committed by a plain write), begins
 * a version, associates `a` in it, and lets associating `poison` fail: the version's writes are
 * lost. Returns the repository id and the lost version.
 */
export async function versionWithLostGroup(store: ContentStore, file: string): Promise<{ repoId: string; version: number; failure: unknown }> {
  const unit = (name: string) => ({ unitId: name, typeId: 'file', key: { name }, metadata: {}, artifacts: [] });
  const repo = await store.createRepository({ name: 'r' });
  const raw = new BetterSqlite3(file);
  raw.exec(`CREATE TRIGGER fail_group BEFORE INSERT ON repository_content
            WHEN NEW.unit = (SELECT id FROM units WHERE unit_id = 'poison')
            BEGIN SELECT RAISE(ROLLBACK, 'injected failure'); END`);
  raw.close();
  await store.upsertUnits([unit('a'), unit('poison')]);
  await store.acquireLease(repo.id, 'host', 60_000); // a plain write: the units are committed
  const version = await store.beginVersion(repo.id);
  await store.associate(repo.id, version, [{ unitId: 'a', typeId: 'file' }], 'sync');
  const failure = await store.associate(repo.id, version, [{ unitId: 'poison', typeId: 'file' }], 'sync').then(() => undefined, (error: unknown) => error);
  return { repoId: repo.id, version, failure };
}
