/**
 * End-to-end: `tributary sync` opens the embedded catalog on the main thread and moves it to its
 * own thread when the sync proves large. A re-sync of a version of more than one page of units (a
 * thousand) reads its base version's fingerprints page by page, and the second page starts the
 * move: whatever the sync does before and after it lands in the same catalog.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFixtureServer, type FixtureServer } from '@tributary/conformance';
import { runCliIn, unitRelativePaths } from './cli-process';

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');

/** A PULP_MANIFEST of `names` (each file's body is its name), and the files. */
function upstream(names: readonly string[]): Record<string, string> {
  const files = Object.fromEntries(names.map((name) => [name, name]));
  const lines = names.map((name) => `${name},${sha256(name)},${name.length}`);
  return { ...files, PULP_MANIFEST: `${lines.join('\n')}\n` };
}

const names = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `f/${String(from + i).padStart(5, '0')}.txt`);

describe('a sync whose catalog moves to its thread', () => {
  let home: string;
  let server: FixtureServer;

  beforeEach(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'catalog-move-e2e-'));
    server = await startFixtureServer({ files: upstream(names(0, 2500)) });
  });
  afterEach(async () => {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  });

  async function sync(...flags: string[]): Promise<{ version: number; newVersion: boolean; report: { added: Record<string, number>; removed: Record<string, number> } }> {
    const run = await runCliIn(home, ['--json', 'sync', 'repo', '--create', '--importer', 'file', '--url', server.urlFor('PULP_MANIFEST'), ...flags]);
    if (run.code !== 0) throw new Error(`sync failed (${run.code}): ${run.stderr}`);
    return JSON.parse(run.stdout);
  }

  it('a forced re-sync finds nothing changed, and a mirror re-sync with changes commits exactly them', async () => {
    const first = await sync('--policy', 'on_demand');
    expect([first.version, first.report.added]).toEqual([1, { file: 2500 }]);

    const unchanged = await sync('--force');
    expect([unchanged.version, unchanged.newVersion, unchanged.report.added, unchanged.report.removed]).toEqual([1, false, {}, {}]);

    // 100 files gone, 40 new: the base version is read past its first page again
    server.setFiles(upstream([...names(100, 2500), ...names(5000, 5040)]));
    const changed = await sync('--force', '--mirror', '--policy', 'immediate');
    expect([changed.version, changed.newVersion, changed.report.added, changed.report.removed]).toEqual([2, true, { file: 40 }, { file: 100 }]);
    expect(await unitRelativePaths(home, 'repo')).toEqual([...names(100, 2500), ...names(5000, 5040)].sort());

    const history = await runCliIn(home, ['--json', 'versions', 'repo']);
    expect(history.code).toBe(0);
    expect(history.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { version: number }).version)).toEqual([1, 2]);
  });
});
