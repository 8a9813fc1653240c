/**
 * The manners of the commands that manage versions and units (in process, on the bundled example
 * file repository): every bad input is a typed error naming what was wrong, --json everywhere,
 * help for each.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCliIn } from './cli-process';

const EXAMPLE = `file://${path.resolve(__dirname, '..', 'examples', 'file-repo')}/`;

describe('version and unit commands', () => {
  let home: string;
  const run = (...argv: string[]) => runCliIn(home, argv);
  const ok = async (...argv: string[]) => {
    const result = await run(...argv);
    if (result.code !== 0) throw new Error(`tributary ${argv.join(' ')} failed (${result.code}): ${result.stderr}`);
    return result.stdout;
  };
  const error = async (...argv: string[]) => {
    const result = await run('--json', ...argv);
    expect(result.code).not.toBe(0);
    return (JSON.parse(result.stderr) as { error: { code: string; message: string; details: Record<string, unknown> } }).error;
  };

  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'tributary-version-commands-'));
    await ok('sync', 'files', '--create', '--importer', 'file', '--url', EXAMPLE);
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it.each([
    [['versions'], 'missing repository name'],
    [['versions', 'diff', 'files', '1'], 'missing repository name and two versions'],
    [['versions', 'show', 'files', 'one'], "the version must be a version number (0, 1, …), got 'one'"],
    [['versions', 'delete', 'files', '-1'], "'versions delete' takes no -1 option"],
    [['repo', 'rollback', 'files'], 'missing repository name and version'],
    [['repo', 'update', 'files'], 'nothing to update'],
    [['repo', 'update', 'files', '--retain-versions', '0'], "--retain-versions must be a positive number of versions or 'all', got '0'"],
    [['repo', 'create', 'other', '--retain-versions', 'x'], "--retain-versions must be a positive number of versions or 'all'"],
    [['orphans', 'cleanup', '--protect-minutes=-5'], "--protect-minutes must be a number of minutes of at least 0, got '-5'"],
    [['orphans', 'cleanup', '--protect-minutes', 'soon'], "--protect-minutes must be a number of minutes of at least 0, got 'soon'"],
    [['units', 'add', 'files', '--type', 'file'], 'give the units as one of --key JSON (repeatable), --from-file KEYS.jsonl or --filter EXPR'],
    [['units', 'remove', 'files', '--type', 'file', '--key', '{}', '--filter', 'a=b'], 'give the units as one of'],
    [['units', 'remove', 'files', '--filter', 'a=b'], 'missing --type'],
    [['units', 'remove', 'files', '--type', 'file', '--key', '[1]'], '--key #1 must be a JSON object'],
    [['units', 'remove', 'files', '--type', 'file', '--key', '{nope'], '--key #1 is not valid JSON'],
    [['copy', 'files'], 'missing source and target repository names'],
    [['copy', 'files', 'files', '--version', 'latest'], "--version must be a version number (0, 1, …), got 'latest'"],
    [['versions', 'files', '--type', 'file'], "'versions' takes no --type option"],
  ])('%j is a usage error: %s', async (argv, message) => {
    expect(await error(...argv)).toMatchObject({ code: 'TRIBUTARY_ERR_USAGE', message: expect.stringContaining(message) });
  });

  it('bad input that parses is a typed error naming what was wrong', async () => {
    expect(await error('versions', 'show', 'files', '7')).toMatchObject({ code: 'TRIBUTARY_ERR_VERSION_NOT_FOUND', details: { version: 7 } });
    expect(await error('versions', 'diff', 'files', '0', '9')).toMatchObject({ code: 'TRIBUTARY_ERR_VERSION_NOT_FOUND' });
    expect(await error('versions', 'delete', 'files', '1')).toMatchObject({ code: 'TRIBUTARY_ERR_VERSION_IN_USE', details: { reason: 'latest' } });
    expect(await error('repo', 'rollback', 'files', '3')).toMatchObject({ code: 'TRIBUTARY_ERR_VERSION_NOT_FOUND' });
    expect(await error('versions', 'nope')).toMatchObject({ code: 'TRIBUTARY_ERR_REPO_NOT_FOUND' });
    expect(await error('units', 'remove', 'files', '--type', 'no.such.type', '--filter', 'a=b')).toMatchObject({ code: 'TRIBUTARY_ERR_UNKNOWN_CONTENT_TYPE' });
    expect(await error('units', 'remove', 'files', '--type', 'file', '--filter', 'relativePath in (a, b')).toMatchObject({
      code: 'TRIBUTARY_ERR_FILTER_INVALID',
      details: { position: 21, expected: "',' or ')' in the list of values" },
    });
    expect(await error('units', 'remove', 'files', '--type', 'file', '--key', '{"relativePath":"x"}')).toMatchObject({ code: 'TRIBUTARY_ERR_UNIT_KEY_INVALID' });
    const missing = path.join(home, 'missing.jsonl');
    expect(await error('units', 'add', 'files', '--type', 'file', '--from-file', missing)).toMatchObject({ code: 'TRIBUTARY_ERR_INVALID_ARGUMENT', message: expect.stringContaining(missing) });
    const bad = path.join(home, 'bad.jsonl');
    await writeFile(bad, '\n{"relativePath":"hello.txt","sha256":"x"}\nnot json\n');
    expect(await error('units', 'remove', 'files', '--type', 'file', '--from-file', bad)).toMatchObject({ code: 'TRIBUTARY_ERR_INVALID_ARGUMENT', details: { line: 3 } });
    expect(await error('copy', 'files', 'nowhere')).toMatchObject({ code: 'TRIBUTARY_ERR_REPO_NOT_FOUND' });
    // none of them committed anything
    expect((await ok('versions', 'files')).trim().split('\n')).toHaveLength(2);
  });

  it('each command prints a line for people and JSON with --json', async () => {
    expect(await ok('versions', 'show', 'files', '1')).toMatch(/^version: {2}1\ncreated: .*\nby: {7}sync \(sync [0-9a-f-]+\)\nunits: {4}5 file units\nadded: {4}5 file units \(against version 0\)\nremoved: {2}none\n$/);
    expect(await ok('versions', 'diff', 'files', '0', '1')).toMatch(/^(\+ file {2}\{.*\}\n){5}version 1 against 0: added 5 file units; removed none\n$/);
    expect(await ok('units', 'remove', 'files', '--type', 'file', '--filter', 'relativePath=data/*')).toBe("removed units from 'files': version 2 of 'files': added none; removed 2 file units\n");
    expect(await ok('copy', 'files', 'files', '--version', '1', '--filter', 'relativePath="data/notes, draft.txt"')).toBe(
      "copied units of 'files' into 'files': version 3 of 'files': added 1 file unit; removed none\n",
    );
    expect(await ok('repo', 'rollback', 'files', '3')).toBe("rolled back to version 3: nothing changes; 'files' stays at version 3\n");
    expect(await ok('repo', 'update', 'files', '--retain-versions', '2')).toBe("updated repository 'files' (keeps the newest 2 versions)\nretention deleted versions 0, 1\n");
    expect(await ok('repo', 'show', 'files')).toContain('retains:    the newest 2 versions\n');
    expect(JSON.parse(await ok('--json', 'repo', 'update', 'files', '--retain-versions', 'all'))).toMatchObject({ retainVersions: null, deletedVersions: [] });
    expect(await ok('versions', 'delete', 'files', '2')).toBe("deleted version 2 of 'files'\n");
    expect(JSON.parse(await ok('--json', 'versions', 'show', 'files', '3'))).toMatchObject({ version: 3, kind: 'copy', base: null });
    expect(JSON.parse(await ok('--json', 'orphans', 'cleanup', '--protect-minutes', '0'))).toMatchObject({ units: 1, artifacts: 1 });
  });

  it('has help for every command, and for filters', async () => {
    for (const command of [['versions'], ['versions', 'diff'], ['units', 'add'], ['units', 'remove'], ['copy'], ['repo', 'rollback'], ['repo', 'update'], ['orphans', 'cleanup']]) {
      const help = await ok(...command, '--help');
      expect(help).toMatch(new RegExp(`^Usage: tributary ${command.join(' ')} `));
    }
    expect(await ok('help', 'units')).toContain('tributary units add REPO');
    expect(await ok('help', 'filter')).toContain('arch in (x86_64, noarch)');
    expect(await ok('help')).toContain("'tributary help filter'");
  });
});
