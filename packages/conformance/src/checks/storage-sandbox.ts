import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { conformanceFailure } from '../conformance-failure.js';
import type { ConformanceContext } from '../conformance-context.js';

const STORAGE_ENTRIES = new Set(['artifacts', 'tmp', 'working', 'catalog.db', 'catalog.db-wal', 'catalog.db-shm', 'catalog.db-journal']);
const SHA256 = /^[0-9a-f]{64}$/;
const SANDBOXED_ENV = ['TMPDIR', 'TMP', 'TEMP', 'HOME'] as const;
const SANDBOX_DIRS = new Set(['cwd/', 'tmp/', 'home/']);
const SANDBOX_DIRS_IN_WORDS: Record<string, string> = {
  cwd: "the process's working directory (process.cwd())",
  tmp: 'the temporary directory (os.tmpdir())',
  home: 'the home directory (os.homedir())',
};

/**
 * Rule `writes-inside-storage`: while the plugin syncs (immediate, mirror to the changed state,
 * on_demand), its process's working directory, temporary directory and home are empty sandbox
 * directories the kit watches: nothing may appear there. Afterwards the host's storage root holds
 * only artifacts/, tmp/ (empty), working/ and the catalog, and the fixture directories are untouched.
 */
export async function checkWritesInsideStorage(ctx: ConformanceContext): Promise<void> {
  const rule = 'writes-inside-storage';
  const fixtureRoots = [await ctx.state('initial'), await ctx.state('changed')].flatMap((s) => (s.root ? [s.root] : []));
  const fixturesBefore = await Promise.all(fixtureRoots.map((root) => treeListing(root)));
  await ctx.withScope(async (scope) => {
    const testHost = await scope.host();
    const upstream = await scope.upstream('initial');
    const changed = await ctx.state('changed');
    const sandbox = await mkdtemp(path.join(tmpdir(), 'tributary-conformance-sandbox-'));
    try {
      const leave = await enterSandbox(sandbox);
      try {
        await ctx.syncExpectingSuccess(rule, 'an immediate sync of the initial state', testHost, 'sandboxed', upstream);
        upstream.serve(changed);
        await ctx.syncExpectingSuccess(rule, 'a mirror sync to the changed state', testHost, 'sandboxed', upstream, { mirror: true });
        await ctx.syncExpectingSuccess(rule, 'an on_demand sync of the changed state', testHost, 'sandboxed-on-demand', upstream, { policy: 'on_demand' });
      } finally {
        leave();
      }
      const written = (await treeListing(sandbox)).map((entry) => entry.split(' ')[0] as string).filter((entry) => !SANDBOX_DIRS.has(entry));
      if (written.length > 0) {
        const where = written.slice(0, 5).map((entry) => `${entry.slice(entry.indexOf('/') + 1)} in ${SANDBOX_DIRS_IN_WORDS[entry.slice(0, entry.indexOf('/'))]}`);
        conformanceFailure(
          rule,
          `during the syncs the plugin wrote outside the host's storage: ${where.join(', ')}${written.length > 5 ? ` and ${written.length - 5} more` : ''}.\n` +
            'Write scratch files to ctx.workingDir, unit bytes to conduit.requestUnitFilename(), and download through ctx.fetcher',
        );
      }
    } finally {
      await rm(sandbox, { recursive: true, force: true });
    }
    const hostEntries = await readdir(testHost.dir);
    const strayInHostDir = hostEntries.filter((e) => e !== 'storage');
    if (strayInHostDir.length > 0) conformanceFailure(rule, `files appeared next to the host's storage root: ${strayInHostDir.join(', ')}`);
    const strayInStorage = (await readdir(testHost.storageRoot)).filter((e) => !STORAGE_ENTRIES.has(e));
    if (strayInStorage.length > 0) {
      conformanceFailure(rule, `the storage root holds entries the host did not make: ${strayInStorage.join(', ')} (only artifacts/, tmp/, working/ and the catalog belong there)`);
    }
    const artifacts = path.join(testHost.storageRoot, 'artifacts');
    // a file belongs in artifacts/ only at the path storage derives from its own name (a sha256)
    const isArtifact = (entry: string): boolean => {
      const name = path.basename(entry);
      return SHA256.test(name) && testHost.host.storage.pathFor(name) === path.join(artifacts, entry);
    };
    const strayArtifacts = (await treeListing(artifacts)).map((e) => e.split(' ')[0] as string).filter((e) => !e.endsWith('/') && !isArtifact(e));
    if (strayArtifacts.length > 0) conformanceFailure(rule, `files in artifacts/ that are not content-addressed artifacts: ${strayArtifacts.slice(0, 3).join(', ')}`);
    const leftovers = await testHost.tempLeftovers();
    if (leftovers.length > 0) conformanceFailure(rule, `temporary files were left in storage after the syncs: ${leftovers.slice(0, 3).join(', ')}`);
  });
  const fixturesAfter = await Promise.all(fixtureRoots.map((root) => treeListing(root)));
  fixtureRoots.forEach((root, i) => {
    if (fixturesBefore[i]!.join('\n') !== fixturesAfter[i]!.join('\n')) conformanceFailure(rule, `the fixture directory ${root} changed during the syncs: a plugin must never write upstream`);
  });
}

/**
 * Points the process's cwd, temporary directory and home at empty directories under `sandbox`;
 * returns the function that restores them.
 *
 * `os.tmpdir()` and `os.homedir()` are replaced as well as the variables they read, because a test
 * runner may hand tests a copy of `process.env` that the real `os` module never sees.
 */
async function enterSandbox(sandbox: string): Promise<() => void> {
  const tmp = path.join(sandbox, 'tmp');
  const home = path.join(sandbox, 'home');
  for (const dir of ['cwd', 'tmp', 'home']) await mkdir(path.join(sandbox, dir));
  const saved = Object.fromEntries(SANDBOXED_ENV.map((name) => [name, process.env[name]]));
  const osFunctions = os as { tmpdir: () => string; homedir: () => string };
  const { tmpdir: realTmpdir, homedir: realHomedir } = osFunctions;
  const cwd = process.cwd();
  process.chdir(path.join(sandbox, 'cwd'));
  for (const name of ['TMPDIR', 'TMP', 'TEMP']) process.env[name] = tmp;
  process.env['HOME'] = home;
  osFunctions.tmpdir = () => tmp;
  osFunctions.homedir = () => home;
  syncBuiltinESMExports();
  return () => {
    process.chdir(cwd);
    osFunctions.tmpdir = realTmpdir;
    osFunctions.homedir = realHomedir;
    syncBuiltinESMExports();
    for (const name of SANDBOXED_ENV) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  };
}

/** Every entry under `root` as `relative/path size mtime` (directories end with '/'), sorted. */
async function treeListing(root: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  const lines: string[] = [];
  for (const entry of entries) {
    const full = path.join(entry.parentPath, entry.name);
    const relative = path.relative(root, full).split(path.sep).join('/');
    if (entry.isDirectory()) {
      lines.push(`${relative}/`);
      continue;
    }
    const info = await stat(full).catch(() => undefined);
    lines.push(`${relative} ${info?.size ?? '?'} ${info?.mtimeMs ?? '?'}`);
  }
  return lines.sort();
}
