import type { ContentStore, SyncRecordOutcome } from '@tributary/core';
import { ErrorCodes } from '@tributary/plugin-api';
import { rejectionCode, repoWithVersion1, rowsOf, sha256Of, unitWrite, type CurrentStore } from './store-fixtures.js';

const report = { added: { file: 2 }, updated: {}, removed: {}, downloaded: { count: 2, bytes: 10 }, log: ['ok'], timings: { total: 5 } };

function outcome(status: SyncRecordOutcome['status'], fingerprint: string | null, resultVersion = 1): SyncRecordOutcome {
  return {
    status,
    finishedAt: new Date().toISOString(),
    report: status === 'succeeded' ? report : null,
    error: status === 'failed' ? { code: 'TRIBUTARY_ERR_NETWORK', message: 'boom', details: {} } : null,
    fingerprint,
    resultVersion,
  };
}

/** Records a finished sync started at minute `minute` of a fixed day. */
async function sync(store: ContentStore, repoId: string, minute: number, settingsHash: string, status: SyncRecordOutcome['status'], fingerprint: string | null) {
  const startedAt = `2024-05-01T10:${String(minute).padStart(2, '0')}:00.000Z`;
  const id = await store.startSyncRecord({ repoId, importer: 'file', settingsHash, version: 1, startedAt });
  await store.finishSyncRecord(id, outcome(status, fingerprint));
  return id;
}

export function historyBehaviours(current: CurrentStore): void {
  test('a sync record starts running and keeps its outcome once finished', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const startedAt = new Date().toISOString();
    const id = await store.startSyncRecord({ repoId: repo.id, importer: 'file', settingsHash: 'h1', version: 1, startedAt });
    expect(await store.listSyncRecords(repo.id)).toEqual([
      expect.objectContaining({ id, repoId: repo.id, importer: 'file', settingsHash: 'h1', version: 1, startedAt, status: 'running' }),
    ]);
    const finished = outcome('succeeded', 'etag-1');
    await store.finishSyncRecord(id, finished);
    expect(await store.listSyncRecords(repo.id)).toEqual([expect.objectContaining({ id, ...finished })]);
  });

  test('listSyncRecords is newest first, per repository, and honours the limit', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const other = await store.createRepository({ name: 'other' });
    const first = await sync(store, repo.id, 1, 'h', 'failed', null);
    const second = await sync(store, repo.id, 2, 'h', 'succeeded', 'f');
    const third = await sync(store, repo.id, 3, 'h', 'cancelled', null);
    await sync(store, other.id, 4, 'h', 'succeeded', 'g');
    expect((await store.listSyncRecords(repo.id)).map((r) => r.id)).toEqual([third, second, first]);
    expect((await store.listSyncRecords(repo.id, 2)).map((r) => r.id)).toEqual([third, second]);
    const failed = (await store.listSyncRecords(repo.id)).find((r) => r.id === first)!;
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'TRIBUTARY_ERR_NETWORK' }, report: null });
  });

  test('lastFingerprint is that of the newest successful sync, and only when its settings hash is the one asked for', async () => {
    const store = current();
    const repo = await store.createRepository({ name: 'r' });
    const other = await store.createRepository({ name: 'other' });
    await sync(store, repo.id, 1, 'settings-a', 'succeeded', 'fp-1');
    await sync(store, repo.id, 2, 'settings-a', 'failed', 'fp-failed');
    await sync(store, other.id, 3, 'settings-a', 'succeeded', 'fp-other-repo');
    expect(await store.lastFingerprint(repo.id, 'settings-a')).toBe('fp-1');
    expect(await store.lastFingerprint(repo.id, 'settings-c')).toBeUndefined();
    // another feed's sync made what the repository holds: settings-a's fingerprint no longer tells anything
    await sync(store, repo.id, 4, 'settings-b', 'succeeded', 'fp-b');
    expect(await store.lastFingerprint(repo.id, 'settings-b')).toBe('fp-b');
    expect(await store.lastFingerprint(repo.id, 'settings-a')).toBeUndefined();
    await sync(store, repo.id, 5, 'settings-a', 'succeeded', 'fp-2');
    expect(await store.lastFingerprint(repo.id, 'settings-a')).toBe('fp-2');
    // a newer successful sync without a fingerprint makes the older one stale
    await sync(store, repo.id, 6, 'settings-a', 'succeeded', null);
    expect(await store.lastFingerprint(repo.id, 'settings-a')).toBeUndefined();
  });

  test('finishing an unknown sync record is TRIBUTARY_ERR_STORE', async () => {
    const store = current();
    expect(await rejectionCode(store.finishSyncRecord('no-such-record', outcome('succeeded', null)))).toBe(ErrorCodes.STORE);
  });
}

export function orphanBehaviours(current: CurrentStore): void {
  test('deleteOrphans removes units in no repository version and artifacts of no unit, and returns their sha256', async () => {
    const store = current();
    const [keptBytes, orphanBytes, sharedBytes, looseBytes] = ['kept', 'orphan', 'shared', 'loose'];
    const artifact = (text: string) => ({ sha256: sha256Of(text), size: text.length, digests: {} });
    await store.upsertArtifacts([keptBytes, orphanBytes, sharedBytes, looseBytes].map(artifact));
    const kept = unitWrite('file', 'kept', {}, [{ relativePath: 'k', sha256: sha256Of(keptBytes) }, { relativePath: 's', sha256: sha256Of(sharedBytes) }]);
    const onlyInOldVersion = unitWrite('file', 'old');
    const orphan = unitWrite('file', 'orphan', {}, [{ relativePath: 'o', sha256: sha256Of(orphanBytes) }, { relativePath: 's', sha256: sha256Of(sharedBytes) }]);
    const repoId = await repoWithVersion1(store, 'r', [kept, onlyInOldVersion]);
    await store.upsertUnits([orphan]);
    await store.upsertRemoteArtifacts([{ unitId: orphan.unitId, relativePath: 'o', remote: 'http://127.0.0.1:1/', urls: ['http://127.0.0.1:1/o'], size: 6, digests: {} }]);
    const v2 = await store.beginVersion(repoId);
    await store.unassociate(repoId, v2, [onlyInOldVersion.unitId]);
    await store.commitVersion(repoId, v2);

    const result = await store.deleteOrphans();
    expect(result.units).toBe(1);
    expect([...result.artifacts].sort()).toEqual([sha256Of(orphanBytes), sha256Of(looseBytes)].sort());
    expect((await store.findUnits([kept.unitId, onlyInOldVersion.unitId, orphan.unitId])).map((u) => u.key['name']).sort()).toEqual(['kept', 'old']);
    expect(await store.findArtifacts('sha256', [sha256Of(keptBytes), sha256Of(sharedBytes), sha256Of(orphanBytes)])).toHaveLength(2);
    // the orphan's unit-artifact rows went with it: upserting it again starts from nothing
    await store.upsertUnits([{ ...orphan, artifacts: [] }]);
    expect((await store.findUnits([orphan.unitId]))[0]!.artifacts).toEqual([]);
    expect(await store.deleteOrphans()).toEqual({ units: 1, artifacts: [] });
  });

  test('deleting a repository makes its units orphans', async () => {
    const store = current();
    const units = [unitWrite('file', 'a', {}, [{ relativePath: 'a', sha256: sha256Of('a') }]), unitWrite('file', 'b')];
    await store.upsertArtifacts([{ sha256: sha256Of('a'), size: 1, digests: {} }]);
    const repoId = await repoWithVersion1(store, 'r', units);
    const other = await store.createRepository({ name: 'other' });
    const v1 = await store.beginVersion(other.id);
    await store.associate(other.id, v1, rowsOf(units.slice(1)), 'sync');
    await store.commitVersion(other.id, v1);
    await store.deleteRepository(repoId);
    expect(await store.deleteOrphans()).toEqual({ units: 1, artifacts: [sha256Of('a')] });
    expect((await store.findUnits(units.map((u) => u.unitId))).map((u) => u.key['name'])).toEqual(['b']);
  });
}
