import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The built module: the cache replaces node's resolution, so it runs in a process of its own. */
const DIST = path.resolve(__dirname, '..', 'dist', 'cli', 'resolve-cache.js');

interface Run {
  readonly stats: { hits: number; misses: number; written: boolean } | null;
  readonly result: Record<string, string>;
}

/** A process that enables the cache in `dir`, requires `entry`, and reports what it exported and the cache's counts once the cache kept its file. */
function run(dir: string, entry: string): Run {
  const script = `
const { ResolveCache } = require(${JSON.stringify(DIST)});
const cache = ResolveCache.enable(process.argv[1]);
const result = require(process.argv[2]);
process.on('exit', () => process.stdout.write(JSON.stringify({ stats: cache ? cache.stats() : null, result })));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script, dir, entry], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as Run;
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

describe('ResolveCache', () => {
  let root: string;
  let dir: string;
  let app: string;
  let entry: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'resolve-cache-'));
    dir = path.join(root, 'cache');
    app = path.join(root, 'app');
    // in a directory below app: app itself holds no resolved file, so only its node_modules' stamps tell what appears there
    entry = path.join(app, 'src', 'entry.js');
    write(path.join(root, 'node_modules', 'dep', 'package.json'), JSON.stringify({ name: 'dep', main: 'index.js' }));
    write(path.join(root, 'node_modules', 'dep', 'index.js'), "module.exports = 'dep';\n");
    write(path.join(root, 'node_modules', 'dep', 'other.js'), "module.exports = 'dep/other';\n");
    write(path.join(root, 'node_modules', '@s', 'p', 'package.json'), JSON.stringify({ name: '@s/p', exports: { '.': './main.js' } }));
    write(path.join(root, 'node_modules', '@s', 'p', 'main.js'), "module.exports = '@s/p';\n");
    write(path.join(app, 'node_modules', '@s', 'q', 'index.js'), "module.exports = '@s/q';\n");
    write(path.join(app, 'src', 'lib', 'x.js'), "module.exports = 'x.js';\n");
    write(path.join(app, 'src', 'lib', 'y.js'), "module.exports = require('./x');\n");
    // the only entry of parts: a file added beside it changes no directory a resolved file is in
    write(path.join(app, 'src', 'parts', 'feature', 'index.js'), "module.exports = 'feature/index.js';\n");
    write(
      entry,
      `module.exports = {
  dep: require('dep'),
  depFile: require.resolve('dep'),
  other: require('dep/other'),
  scoped: require('@s/p'),
  x: require('./lib/x'),
  xFile: require.resolve('./lib/x'),
  y: require('./lib/y'),
  feature: require('./parts/feature'),
  q: require('@s/q'),
  builtin: typeof require('node:path').join + typeof require('fs').statSync,
};
`,
    );
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const expected = () => ({
    dep: 'dep',
    depFile: path.join(root, 'node_modules', 'dep', 'index.js'),
    other: 'dep/other',
    scoped: '@s/p',
    x: 'x.js',
    xFile: path.join(app, 'src', 'lib', 'x.js'),
    y: 'x.js',
    feature: 'feature/index.js',
    q: '@s/q',
    builtin: 'functionfunction',
  });

  it('keeps where a process resolved its requests, and a later process answers them from it as node would', () => {
    const first = run(dir, entry);
    expect(first.result).toEqual(expected());
    // require.resolve of what was just required is answered in the process already
    expect(first.stats).toEqual({ hits: 2, misses: 9, written: true });
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    const [file] = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(fs.statSync(path.join(file!.parentPath, file!.name)).mode & 0o777).toBe(0o600);

    const second = run(dir, entry);
    expect(second.result).toEqual(expected());
    expect(second.stats).toEqual({ hits: 11, misses: 0, written: false });
  });

  it('resolves afresh once a package is installed nearer than the kept one', () => {
    run(dir, entry);
    write(path.join(app, 'node_modules', 'dep', 'package.json'), JSON.stringify({ name: 'dep' }));
    write(path.join(app, 'node_modules', 'dep', 'index.js'), "module.exports = 'nearer dep';\n");
    const after = run(dir, entry);
    expect(after.result).toEqual({ ...expected(), dep: 'nearer dep', depFile: path.join(app, 'node_modules', 'dep', 'index.js') });
    expect(after.stats).toEqual({ hits: 2, misses: 9, written: true });
    expect(run(dir, entry).stats).toMatchObject({ misses: 0 });
  });

  it("resolves afresh once a package.json names another main file, though the kept one is still there", () => {
    run(dir, entry);
    write(path.join(root, 'node_modules', 'dep', 'package.json'), JSON.stringify({ name: 'dep', main: 'other.js' }));
    expect(run(dir, entry).result).toEqual({ ...expected(), dep: 'dep/other', depFile: path.join(root, 'node_modules', 'dep', 'other.js') });
  });

  it('resolves afresh once a file node prefers appears beside the kept one, or the kept one goes', () => {
    run(dir, entry);
    // './lib/x' is the file x before x.js
    write(path.join(app, 'src', 'lib', 'x'), "module.exports = 'x';\n");
    expect(run(dir, entry).result).toEqual({ ...expected(), x: 'x', xFile: path.join(app, 'src', 'lib', 'x'), y: 'x' });

    fs.rmSync(path.join(app, 'src', 'lib', 'x'));
    fs.rmSync(path.join(app, 'src', 'lib', 'x.js'));
    write(path.join(app, 'src', 'lib', 'x', 'index.js'), "module.exports = 'x/index.js';\n");
    expect(run(dir, entry).result).toEqual({ ...expected(), x: 'x/index.js', xFile: path.join(app, 'src', 'lib', 'x', 'index.js'), y: 'x/index.js' });

    // './parts/feature' is the file feature.js before the directory feature/
    write(path.join(app, 'src', 'parts', 'feature.js'), "module.exports = 'feature.js';\n");
    expect(run(dir, entry).result).toMatchObject({ feature: 'feature.js' });
  });

  it('resolves afresh once a package appears in a scope beside another', () => {
    run(dir, entry);
    write(path.join(app, 'node_modules', '@s', 'p', 'index.js'), "module.exports = 'nearer @s/p';\n");
    expect(run(dir, entry).result).toEqual({ ...expected(), scoped: 'nearer @s/p' });
  });

  it('resolves afresh once a scoped package is linked elsewhere (a workspace link)', () => {
    run(dir, entry);
    write(path.join(root, 'workspace', 'p', 'package.json'), JSON.stringify({ name: '@s/p', main: 'linked.js' }));
    write(path.join(root, 'workspace', 'p', 'linked.js'), "module.exports = 'linked @s/p';\n");
    fs.rmSync(path.join(root, 'node_modules', '@s', 'p'), { recursive: true });
    fs.symlinkSync(path.join(root, 'workspace', 'p'), path.join(root, 'node_modules', '@s', 'p'), 'dir');
    expect(run(dir, entry).result).toEqual({ ...expected(), scoped: 'linked @s/p' });
  });

  it('leaves a request node cannot resolve to node, and keeps nothing of it', () => {
    write(path.join(app, 'missing.js'), "require('./src/lib/x'); require('not-installed');\n");
    expect(() => run(dir, path.join(app, 'missing.js'))).toThrow(/Cannot find module 'not-installed'/);
    write(path.join(root, 'node_modules', 'not-installed', 'index.js'), "module.exports = 'now installed';\n");
    write(path.join(app, 'missing.js'), "module.exports = { x: require('./src/lib/x'), late: require('not-installed') };\n");
    expect(run(dir, path.join(app, 'missing.js')).result).toEqual({ x: 'x.js', late: 'now installed' });
  });

  it('resolves afresh when the kept file is damaged, and replaces it', () => {
    run(dir, entry);
    const [file] = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    const kept = path.join(file!.parentPath, file!.name);
    fs.writeFileSync(kept, '{"layout":1,"stamps":');
    expect(run(dir, entry)).toEqual({ result: expected(), stats: { hits: 2, misses: 9, written: true } });
    expect(run(dir, entry).stats).toEqual({ hits: 11, misses: 0, written: false });
  });

  it('uses no directory that others may write to', () => {
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.chmodSync(dir, 0o777);
    const open = run(dir, entry);
    expect(open.stats).toBeNull();
    expect(open.result).toEqual(expected());
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
