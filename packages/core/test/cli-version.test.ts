import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../src/cli/run-cli';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env: {}, cwd: process.cwd() });
  return { code, stdout, stderr };
}

describe('tributary --version', () => {
  it("prints the host package's version and exits 0, opening no store", async () => {
    const { version } = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(await run(['--version'])).toEqual({ code: 0, stdout: `tributary ${version}\n`, stderr: '' });
  });

  it('after global options too (--home, --json), opening no store', async () => {
    const { version } = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    const home = path.join(__dirname, 'no-such-home');
    expect(await run(['--home', home, '--json', '--version'])).toEqual({ code: 0, stdout: `tributary ${version}\n`, stderr: '' });
    expect(existsSync(home)).toBe(false);
  });

  it('a command\'s --version N is still the repository version, not this', async () => {
    for (const argv of [['units', '--version'], ['--home', 'h', 'units', 'r', '--version']]) {
      const result = await run(argv);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('TRIBUTARY_ERR_USAGE');
    }
  });
});
