import { SyncProgressDisplay, formatDuration } from '../src/cli/sync-progress';
import { formatCount, guardIo } from '../src/cli/cli-io';
import type { SyncProgress } from '../src/sync/sync-service';

const idle: SyncProgress = { added: 0, updated: 0, removed: 0, downloadedFiles: 0, downloadedBytes: 0, metadataFiles: 0, metadataBytes: 0, artifactsDue: 0, artifactsListed: false };

function display(): SyncProgressDisplay {
  const io = guardIo({ stdout: { write: () => true }, stderr: { write: () => true }, env: {}, cwd: '/' });
  return new SyncProgressDisplay(io, 'r', 'off', 1000);
}

describe('sync progress in words', () => {
  afterEach(() => jest.useRealTimers());

  it('the index: a percentage of its size, then how long is left once there is a rate', () => {
    jest.useFakeTimers({ now: 0 });
    const d = display();
    d.update({ ...idle, added: 1200, metadataFiles: 1, metadataBytes: 18 * 1024 * 1024, index: { what: 'reading PULP_MANIFEST', done: 2 * 1024 * 1024, total: 18 * 1024 * 1024 } });
    expect(d.describe()).toBe('reading PULP_MANIFEST 11% (2.0 MiB of 18.0 MiB); 1,200 added, 0 updated, 0 removed; metadata 1 file (18.0 MiB)');
    jest.setSystemTime(2000);
    d.update({ ...idle, added: 9000, metadataFiles: 1, metadataBytes: 18 * 1024 * 1024, index: { what: 'reading PULP_MANIFEST', done: 6 * 1024 * 1024, total: 18 * 1024 * 1024 } });
    // 4 MiB in 2 s: 12 MiB to go take 6 s
    expect(d.describe()).toBe('reading PULP_MANIFEST 33% (6.0 MiB of 18.0 MiB, 6s left); 9,000 added, 0 updated, 0 removed; metadata 1 file (18.0 MiB)');
    d.update({ ...idle, added: 200_000, index: { what: 'reading PULP_MANIFEST', done: 18 * 1024 * 1024, total: 18 * 1024 * 1024 } });
    expect(d.describe()).toBe('200,000 added, 0 updated, 0 removed');
  });

  it('artifacts: found so far while units are still listed, then out of their total', () => {
    jest.useFakeTimers({ now: 0 });
    const d = display();
    d.update({ ...idle, added: 50, downloadedFiles: 10, downloadedBytes: 10240, artifactsDue: 60 });
    expect(d.describe()).toBe('50 added, 0 updated, 0 removed; artifacts 10 (10.0 KiB) of 60 so far downloaded');
    d.update({ ...idle, added: 100, downloadedFiles: 20, downloadedBytes: 20480, artifactsDue: 100, artifactsListed: true });
    expect(d.describe()).toBe('100 added, 0 updated, 0 removed; artifacts 20 (20.0 KiB) of 100 downloaded, 20%');
    jest.setSystemTime(10_000);
    d.update({ ...idle, added: 100, downloadedFiles: 60, downloadedBytes: 61440, artifactsDue: 100, artifactsListed: true });
    expect(d.describe()).toBe('100 added, 0 updated, 0 removed; artifacts 60 (60.0 KiB) of 100 downloaded, 60%, 10s left');
  });

  it('units left out (--on-error skip) are counted as the host tells them', () => {
    const d = display();
    d.update({ ...idle, added: 7 });
    expect(d.describe()).toBe('7 added, 0 updated, 0 removed');
    d.noteSkipped();
    expect(d.describe()).toBe('7 added, 0 updated, 0 removed; 1 unit left out');
    d.noteSkipped();
    expect(d.describe()).toBe('7 added, 0 updated, 0 removed; 2 units left out');
  });

  it('durations', () => {
    expect([0, 4_400, 65_000, 7_380_000].map(formatDuration)).toEqual(['0s', '4s', '1m05s', '2h03m']);
  });
});

test('counts carry thousands separators as en-US writes them', () => {
  for (const n of [0, 7, 999, 1000, 12_345, 100_000, 999_999, 1_000_000, 1_234_567_890, -45_678]) expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
});
