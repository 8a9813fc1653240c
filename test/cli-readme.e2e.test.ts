/**
 * End-to-end: the README's CLI examples ("Using the CLI") run as written, in bash, against the
 * built CLI and the bundled example file repository: every line succeeds, nothing is printed to
 * stderr (no EPIPE trace from `units … --json | head`), and the output says what the comments say.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliBuilt } from './cli-process';

const ROOT = path.resolve(__dirname, '..');

/** The first ```sh block after `heading` in the README. */
function readmeBlock(heading: string): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(`\n${heading}\n`));
  const match = /```sh\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error(`no sh block under ${heading}`);
  return match[1]!;
}

function bash(script: string, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.TRIBUTARY_HOME;
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

(cliBuilt() ? describe : describe.skip)("the README's CLI examples", () => {
  let dir: string;
  beforeAll(() => {
    // a checkout-like directory ($PWD/packages, $PWD/examples) whose .tributary and files-tree are the test's own
    dir = mkdtempSync(path.join(os.tmpdir(), 'cli-readme-'));
    symlinkSync(path.join(ROOT, 'packages'), path.join(dir, 'packages'));
    symlinkSync(path.join(ROOT, 'examples'), path.join(dir, 'examples'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('"Using the CLI" runs line by line, quietly on stderr', async () => {
    const block = readmeBlock('## Using the CLI');
    expect(block).toContain('tributary units files --json | head -2');
    // each line echoed before it runs, so the output says which line printed what; pipefail: the CLI's own status counts in a pipe
    const lines = block.split('\n').filter((line) => line.trim() && !line.startsWith('#'));
    const script = ['shopt -s expand_aliases', 'set -eo pipefail', ...lines.flatMap((line) => [`echo '>>> ${line.replace(/'/g, `'\\''`)}'`, line])].join('\n');
    const run = await bash(script, dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);

    const outputs = new Map<string, string>();
    for (const chunk of run.stdout.split('>>> ').slice(1)) {
      const newline = chunk.indexOf('\n');
      outputs.set(chunk.slice(0, newline).replace(/\s+#.*$/, '').trim(), chunk.slice(newline + 1));
    }
    const out = (command: string): string => {
      const text = outputs.get(command);
      if (text === undefined) throw new Error(`no output recorded for ${command}: ${[...outputs.keys()].join(' | ')}`);
      return text;
    };
    expect(out('tributary repo create files --description "example files"')).toBe("created repository 'files'\n");
    expect(out('tributary sync files --importer file --url "file://$PWD/examples/file-repo/"')).toMatch(/^synced 'files' \(immediate\) to version 1: added 5 file units;/);
    expect(out('tributary units files')).toMatch(/\n5 units\n$/);
    const json = out('tributary units files --json | head -2').trim().split('\n');
    expect(json).toHaveLength(2);
    for (const line of json) expect(JSON.parse(line)).toMatchObject({ type: 'file', origin: 'sync' });
    // remembered: importer and url (other settings than the last sync's: compared, not finished early)
    expect(out('tributary sync files --mirror')).toMatch(/^synced 'files' \(immediate, mirror\) to version 1 \(no content change\): added none; updated none; removed none; downloaded 0 files \(0 B\) and 1 metadata file/);
    expect(out('tributary sync files --force')).toMatch(/^synced 'files' \(immediate, forced\) to version 1 \(no content change\)/);
    expect(out('tributary history files --limit 5').split('\n').filter(Boolean)).toHaveLength(4);
    expect(out('tributary export files ./files-tree')).toBe('exported 6 files (709 B) to ./files-tree\n');
    // the publication adds the manifest the tree can be synced from again
    expect(readFileSync(path.join(dir, 'files-tree', 'PULP_MANIFEST'), 'utf8').split('\n').filter(Boolean)).toHaveLength(5);
    expect(readFileSync(path.join(dir, 'files-tree', 'hello.txt')).equals(readFileSync(path.join(ROOT, 'examples', 'file-repo', 'hello.txt')))).toBe(true);
    expect(out('tributary repo list')).toMatch(/^NAME\s+VERSION\s+IMPORTER\s+FEED\nfiles\s+1\s+file\s+file:\/\//);
    expect(out('tributary orphans cleanup')).toBe('removed 0 orphan units and 0 orphan artifacts\n');
    expect(out('tributary plugins list')).toMatch(/^NAME\s+VERSION\s+HOST API\s+CONTENT TYPES\nfile\s/);
  }, 120_000);
});
