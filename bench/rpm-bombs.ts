/**
 * Decompression-bomb benchmark (issue 19 item 3). Prints figures; asserts nothing.
 *
 *   npm run bench:bombs -- [--size 1024] [--kinds gz,xz,zst,bz2] [--contents zeros,spaces] [--limit MiB] [--xz-preset 9] [--json]
 *
 * For each compression and content, a bomb: SIZE MiB of zeros (no XML at all) or of spaces (XML
 * whitespace, which the parser reads to the end) compressed by the CLI tool at its strongest
 * (`gzip -9`, `xz -9`, `zstd -19`, `bzip2 -9`; made once, cached under the temp directory). xz's
 * decoder needs the dictionary the preset chose (-9: 64 MiB, the default -6: 8 MiB), and it fills
 * as output passes: `--xz-preset` shows that share of an xz bomb's peak. Each
 * is the primary of a yum repository (repomd.xml with its checksum and size, no open-size) served
 * from a separate server process on 127.0.0.1, and synced by a real `tributary sync` in a child
 * process of its own, whose peak RSS (all its threads: getrusage's maxrss, read as it exits)
 * is printed with the time taken and the error the sync ended with. `--limit` sets the importer's
 * maxMetadataBytes (default: its default, 2 GiB, so a 1 GiB bomb is inflated to the end).
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { flushDisks, runBenchmark } from './bench-process.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1024' },
    kinds: { type: 'string', default: 'gz,xz,zst,bz2' },
    contents: { type: 'string', default: 'zeros,spaces' },
    limit: { type: 'string' },
    'xz-preset': { type: 'string', default: '9' },
    json: { type: 'boolean', default: false },
  },
});

const xzPreset = Number(values['xz-preset']);
const COMPRESSORS: Record<string, string> = { gz: 'gzip -9', xz: `xz -${xzPreset} -T1`, zst: 'zstd -q -19', bz2: 'bzip2 -9' };
const mebibytes = Number(values.size);
const kinds = values.kinds!.split(',');
const contents = values.contents!.split(',') as ('zeros' | 'spaces')[];
const repoRoot = path.resolve(__dirname, '..', '..');
const cli = path.join(repoRoot, 'packages', 'core', 'dist', 'cli', 'main.js');
const cache = path.join(os.tmpdir(), 'tributary-rpm-bombs');
const workDir = mkdtempSync(path.join(os.tmpdir(), 'tributary-bench-bombs-'));

/** The bomb file, made with the CLI tool from a stream unless cached. */
function bomb(kind: string, content: string): string {
  const file = path.join(cache, `bench-${content}-${mebibytes}MiB${kind === 'xz' && xzPreset !== 9 ? `-${xzPreset}` : ''}.${kind}`);
  if (existsSync(file)) return file;
  mkdirSync(cache, { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  process.stderr.write(`making ${path.basename(file)} (${COMPRESSORS[kind]})…\n`);
  execFileSync('sh', ['-c', `head -c ${mebibytes}M /dev/zero${content === 'spaces' ? ` | tr '\\0' ' '` : ''} | ${COMPRESSORS[kind]} > '${temp}'`], { stdio: 'inherit' });
  renameSync(temp, file);
  return file;
}

/** A yum repository under `workDir/upstream/NAME/` whose primary is `file`; returns NAME. */
function repositoryOf(name: string, kind: string, file: string): string {
  const repodata = path.join(workDir, 'upstream', name, 'repodata');
  mkdirSync(repodata, { recursive: true });
  const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
  const href = `repodata/${sha256}-primary.xml.${kind}`;
  symlinkSync(file, path.join(repodata, '..', href));
  writeFileSync(
    path.join(repodata, 'repomd.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo">
  <revision>1</revision>
  <data type="primary">
    <checksum type="sha256">${sha256}</checksum>
    <location href="${href}"/>
    <size>${statSync(file).size}</size>
  </data>
</repomd>
`,
  );
  return name;
}

/** Writes the child's peak RSS (all threads) to $TRIBUTARY_BENCH_RSS_FILE as it exits; loaded with --require. */
const PROBE = `process.on('exit', () => require('node:fs').writeFileSync(process.env.TRIBUTARY_BENCH_RSS_FILE, String(process.resourceUsage().maxRSS * 1024)));`;

interface SyncResult {
  readonly peakRssBytes: number;
  readonly seconds: number;
  readonly exitCode: number | null;
  /** The TRIBUTARY_ERR_* code the CLI printed, if any. */
  readonly error: string | undefined;
}

async function syncInChild(repository: string, url: string): Promise<SyncResult> {
  const probe = path.join(workDir, 'rss-probe.js');
  if (!existsSync(probe)) writeFileSync(probe, PROBE);
  const rssFile = path.join(workDir, `${repository}.rss`);
  const config = values.limit ? ['--config', JSON.stringify({ maxMetadataBytes: Number(values.limit) * 1024 * 1024 })] : [];
  const args = ['--require', probe, cli, '--home', path.join(workDir, 'home'), 'sync', repository, '--importer', 'rpm', '--url', url, '--create', '--policy', 'on_demand', ...config];
  flushDisks();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { env: { ...process.env, TRIBUTARY_BENCH_RSS_FILE: rssFile }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const [exitCode] = (await once(child, 'close')) as [number | null];
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // the innermost code: the sync's own TRIBUTARY_ERR_SYNC_FAILED names its cause after it
  const codes = output.match(/TRIBUTARY_ERR_[A-Z_]+/g) ?? [];
  const error = codes.filter((c) => c !== 'TRIBUTARY_ERR_SYNC_FAILED').pop() ?? codes.pop() ?? (exitCode !== 0 ? output.trim().split('\n').pop() : undefined);
  return { peakRssBytes: Number(readFileSync(rssFile, 'utf8')), seconds, exitCode, error };
}

async function startServer(root: string): Promise<{ url: string; child: ChildProcess }> {
  const child = fork(path.join(__dirname, 'rpm-repo-server.js'), [root], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [message] = (await once(child, 'message')) as [{ url: string }];
  return { url: message.url, child };
}

const mib = (bytes: number) => (bytes / (1024 * 1024)).toFixed(0);

async function main(): Promise<void> {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (npx tsc -b)`);
  const runs: Array<{ kind: string; content: string; compressedBytes: number } & SyncResult> = [];
  const files = new Map<string, string>();
  for (const content of contents) for (const kind of kinds) files.set(`${kind}-${content}`, bomb(kind, content));
  for (const [name, file] of files) repositoryOf(name, name.split('-')[0]!, file);
  const { url, child } = await startServer(path.join(workDir, 'upstream'));
  try {
    const header =
      `rpm decompression-bomb benchmark — node ${process.version}, ${os.cpus().length} CPUs; bombs of ${mebibytes} MiB; ` +
      `${Object.values(COMPRESSORS).join(', ')}; maxMetadataBytes ${values.limit ? `${values.limit} MiB` : 'default (2 GiB)'}; each a real \`tributary sync\` (on_demand) in its own process`;
    if (!values.json) process.stdout.write(`${header}\n`);
    for (const content of contents) {
      let gzipPeak: number | undefined;
      for (const kind of kinds) {
        const name = `${kind}-${content}`;
        const result = await syncInChild(name, new URL(`${name}/`, url).href);
        runs.push({ kind, content, compressedBytes: statSync(files.get(name)!).size, ...result });
        if (kind === 'gz') gzipPeak = result.peakRssBytes;
        const versus = gzipPeak !== undefined && kind !== 'gz' ? ` (${result.peakRssBytes >= gzipPeak ? '+' : '−'}${mib(Math.abs(result.peakRssBytes - gzipPeak))} MiB vs gz)` : '';
        if (!values.json) {
          process.stdout.write(
            `${kind.padEnd(3)} ${content.padEnd(6)} (${(statSync(files.get(name)!).size / 1024).toFixed(0).padStart(5)} KiB): ` +
              `peak RSS ${mib(result.peakRssBytes).padStart(4)} MiB${versus}, ${result.seconds.toFixed(1)} s, ${result.error ?? 'no error'}\n`,
          );
        }
      }
    }
    if (values.json) process.stdout.write(`${JSON.stringify({ header, runs }, null, 2)}\n`);
  } finally {
    child.kill();
    rmSync(workDir, { recursive: true, force: true });
  }
}

runBenchmark(main);
