import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commandWord, storeOption } from '../src/cli/command-word.js';

/** The built module: the cache replaces node's module compilation, so it runs in a process of its own. */
const DIST = path.resolve(__dirname, '..', 'dist', 'cli', 'compile-cache.js');
const CLI = path.resolve(__dirname, '..', 'dist', 'cli', 'main.js');

interface Run {
  readonly stats: { hits: number; misses: number; written: number } | null;
  readonly result: Record<string, unknown>;
}

/** A process that enables the cache in `dir`, requires `entry`, and reports what it exported and the cache's counts once the cache kept its code. */
function run(dir: string, entry: string): Run {
  const script = `
const { CompileCache } = require(${JSON.stringify(DIST)});
const cache = CompileCache.enable(process.argv[1]);
const loaded = require(process.argv[2]);
Promise.resolve(loaded.later?.()).then((later) => {
  process.on('exit', () => process.stdout.write(JSON.stringify({ stats: cache ? cache.stats() : null, result: { ...loaded.now, later } })));
});`;
  const out = execFileSync(process.execPath, ['-e', script, dir, entry], { encoding: 'utf8' });
  return JSON.parse(out) as Run;
}

describe('CompileCache', () => {
  let root: string;
  let dir: string;
  let modules: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'compile-cache-'));
    dir = path.join(root, 'cache');
    modules = path.join(root, 'modules');
    fs.mkdirSync(path.join(modules, 'node_modules', 'dep'), { recursive: true });
    fs.writeFileSync(path.join(modules, 'node_modules', 'dep', 'package.json'), JSON.stringify({ name: 'dep', main: 'index.js' }));
    fs.writeFileSync(path.join(modules, 'node_modules', 'dep', 'index.js'), "exports.name = 'dep';\n");
    fs.writeFileSync(path.join(modules, 'later.mjs'), 'export const value = 42;\n');
    // import() in it: compiled the usual way, not kept
    fs.writeFileSync(path.join(modules, 'dynamic.js'), "module.exports = () => import('./later.mjs').then((later) => later.value);\n");
    fs.writeFileSync(path.join(modules, 'shebang.js'), "#!/usr/bin/env node\nmodule.exports = 'ran';\n");
    fs.writeFileSync(
      path.join(modules, 'entry.js'),
      `const dep = require('dep');
const self = this;
exports.now = {
  version: 1,
  dep: dep.name,
  thisIsExports: self === module.exports,
  filename: __filename,
  dirname: __dirname,
  resolved: require.resolve('dep'),
  resolvePaths: Array.isArray(require.resolve.paths('dep')),
  cached: require.cache[__filename] === module,
  main: require.main === undefined || require.main !== module,
  shebang: require('./shebang.js'),
  stackNames: new Error('where').stack.includes(__filename),
};
exports.later = require('./dynamic.js');
`,
    );
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const expected = () => ({
    version: 1,
    dep: 'dep',
    thisIsExports: true,
    filename: path.join(modules, 'entry.js'),
    dirname: modules,
    resolved: path.join(modules, 'node_modules', 'dep', 'index.js'),
    resolvePaths: true,
    cached: true,
    main: true,
    shebang: 'ran',
    stackNames: true,
    later: 42,
  });

  it('keeps the code of the modules a process compiled, and a later process compiles them from it, each module as node would run it', () => {
    const first = run(dir, path.join(modules, 'entry.js'));
    expect(first.result).toEqual(expected());
    expect(first.stats).toEqual({ hits: 0, misses: 3, written: 3 });
    const files = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
    expect(files).toHaveLength(3); // not dynamic.js
    for (const file of files) expect(fs.statSync(path.join(file.parentPath, file.name)).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);

    const second = run(dir, path.join(modules, 'entry.js'));
    expect(second.result).toEqual(expected());
    expect(second.stats).toEqual({ hits: 3, misses: 0, written: 0 });
  });

  it('compiles a changed module from its new source and keeps that', () => {
    run(dir, path.join(modules, 'entry.js'));
    const entry = path.join(modules, 'entry.js');
    fs.writeFileSync(entry, fs.readFileSync(entry, 'utf8').replace('version: 1', 'version: 2'));
    const changed = run(dir, entry);
    expect(changed.result).toEqual({ ...expected(), version: 2 });
    expect(changed.stats).toEqual({ hits: 2, misses: 1, written: 1 });
    expect(run(dir, entry).stats).toEqual({ hits: 3, misses: 0, written: 0 });
  });

  it('compiles from source a module whose kept code V8 refuses (damaged), and keeps it anew', () => {
    run(dir, path.join(modules, 'entry.js'));
    const files = fs
      .readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.join(entry.parentPath, entry.name));
    for (const file of files) {
      const bytes = fs.readFileSync(file);
      bytes.fill(0x5a, 20 + 8); // the source hash kept, V8's data after its header damaged
      fs.writeFileSync(file, bytes);
    }
    const damaged = run(dir, path.join(modules, 'entry.js'));
    expect(damaged.result).toEqual(expected());
    expect(damaged.stats).toEqual({ hits: 0, misses: 3, written: 3 });
    expect(run(dir, path.join(modules, 'entry.js')).stats).toEqual({ hits: 3, misses: 0, written: 0 });
  });

  it('a process that keeps code removes what no process kept for 30 days, and leaves the rest', () => {
    run(dir, path.join(modules, 'entry.js'));
    const [set] = fs.readdirSync(dir);
    const old = (Date.now() - 31 * 86_400_000) / 1000;
    const oldSet = path.join(dir, 'v1-0');
    fs.mkdirSync(oldSet);
    fs.writeFileSync(path.join(oldSet, 'gone.bin'), 'x');
    fs.utimesSync(path.join(oldSet, 'gone.bin'), old, old);
    const oldFile = path.join(dir, set!, 'moved-install.bin');
    fs.writeFileSync(oldFile, 'x');
    fs.utimesSync(oldFile, old, old);
    const recent = path.join(dir, set!, 'recent.bin');
    fs.writeFileSync(recent, 'x');

    // nothing compiled afresh: nothing written, nothing pruned
    expect(run(dir, path.join(modules, 'entry.js')).stats).toEqual({ hits: 3, misses: 0, written: 0 });
    expect(fs.existsSync(oldFile)).toBe(true);

    const entry = path.join(modules, 'entry.js');
    fs.writeFileSync(entry, fs.readFileSync(entry, 'utf8').replace('version: 1', 'version: 2'));
    expect(run(dir, entry).stats).toEqual({ hits: 2, misses: 1, written: 1 });
    expect(fs.existsSync(oldFile)).toBe(false);
    expect(fs.existsSync(oldSet)).toBe(false);
    expect(fs.existsSync(recent)).toBe(true);
    expect(run(dir, entry).stats).toEqual({ hits: 3, misses: 0, written: 0 });
  });

  it('uses no directory that others may write to', () => {
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.chmodSync(dir, 0o777);
    const open = run(dir, path.join(modules, 'entry.js'));
    expect(open.stats).toBeNull();
    expect(open.result).toEqual(expected());
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('leaves a syntax error to node, which names the file', () => {
    const broken = path.join(modules, 'broken.js');
    fs.writeFileSync(broken, 'exports.now = {;\n');
    expect(() => execFileSync(process.execPath, ['-e', `require(${JSON.stringify(DIST)}).CompileCache.enable(process.argv[1]); require(process.argv[2]);`, dir, broken], { encoding: 'utf8', stdio: 'pipe' })).toThrow(
      /broken\.js[\s\S]*SyntaxError/,
    );
  });

  it('the CLI keeps a set for the light commands under TRIBUTARY_CACHE_DIR, and none with TRIBUTARY_CACHE_DIR=off', () => {
    const home = path.join(root, 'home');
    const env = { ...process.env, TRIBUTARY_CACHE_DIR: path.join(root, 'cli-cache'), NODE_DEBUG: 'tributary:compile-cache' };
    const list = () => spawnSync(process.execPath, [CLI, '--home', home, 'repo', 'list'], { env, encoding: 'utf8' });
    const first = list();
    expect(first.status).toBe(0);
    expect(fs.readdirSync(path.join(root, 'cli-cache', 'code'))).toEqual(['other']);
    const second = list();
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toMatch(/: [1-9]\d* modules from kept code, 0 compiled, 0 kept/);

    const off = { ...process.env, TRIBUTARY_CACHE_DIR: 'off' };
    fs.rmSync(path.join(root, 'cli-cache'), { recursive: true });
    execFileSync(process.execPath, [CLI, '--home', home, 'repo', 'list'], { env: off, encoding: 'utf8' });
    expect(fs.existsSync(path.join(root, 'cli-cache'))).toBe(false);
  });
});

describe('commandWord and storeOption', () => {
  it('find the command past global options and their values', () => {
    expect(commandWord(['--home', 'sync', 'repo', 'list'])).toBe('repo');
    expect(commandWord(['--json', '--store', 'x.db', 'sync', 'r'])).toBe('sync');
    expect(commandWord(['--version'])).toBeUndefined();
    expect(storeOption(['--store', 'mongodb://h/db', 'sync'])).toBe('mongodb://h/db');
    expect(storeOption(['--store=mongodb://h/db', 'sync'])).toBe('mongodb://h/db');
    expect(storeOption(['sync', 'r'])).toBeUndefined();
  });
});
