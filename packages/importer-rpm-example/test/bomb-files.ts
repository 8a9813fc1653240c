import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MetadataCompression } from '@tributary/importer-rpm-example';

/** Compressions a bomb is made in, with the CLI that makes it and the extension it gets. */
export const BOMB_COMPRESSIONS = [
  { compression: 'gzip', extension: 'gz', command: 'gzip -9' },
  // -1 compresses zeros as far as -9 does (6,900 times), and in a third of the time
  { compression: 'xz', extension: 'xz', command: 'xz -1 -T1' },
  { compression: 'zstd', extension: 'zst', command: 'zstd -q -19' },
  { compression: 'bzip2', extension: 'bz2', command: 'bzip2 -9' },
] as const satisfies readonly { compression: MetadataCompression; extension: string; command: string }[];

export type BombCompression = (typeof BOMB_COMPRESSIONS)[number]['compression'];

/** What a bomb inflates to: zeros (not XML at all), or spaces (XML whitespace, read on and on). */
export type BombContent = 'zeros' | 'spaces';

/** Where made bombs are kept between runs (they take seconds of CPU to make). */
const CACHE = path.join(os.tmpdir(), 'tributary-rpm-bombs');

/**
 * A file of `mebibytes` MiB of zeros or spaces compressed by the CLI tool, made once and cached
 * (a few KB to 1 MB each). Made from a stream, as `head -c 256M /dev/zero | zstd -19` would.
 */
export function bombFile(compression: BombCompression, content: BombContent, mebibytes: number): string {
  const spec = BOMB_COMPRESSIONS.find((c) => c.compression === compression)!;
  const file = path.join(CACHE, `${content}-${mebibytes}MiB.${spec.extension}`);
  if (existsSync(file)) return file;
  mkdirSync(CACHE, { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  const bytes = content === 'zeros' ? '' : ` | tr '\\0' ' '`;
  execFileSync('sh', ['-c', `head -c ${mebibytes}M /dev/zero${bytes} | ${spec.command} > '${temp}'`], { stdio: 'ignore' });
  renameSync(temp, file);
  return file;
}

/** What a bomb did in a process of its own ({@link readBombInChild}). */
export interface ChildBombResult {
  readonly code: string | undefined;
  readonly message: string;
  readonly seenBytes: number | undefined;
  /** Peak RSS (VmHWM) less RSS once the modules were loaded. */
  readonly rssGrowth: number;
}

/**
 * Reads a bomb in a fresh Node process, from this package's TypeScript source (transpiled as it
 * loads), so its peak RSS is its own: in a test worker, memory earlier tests freed is reused
 * without RSS growing. `spaces` bombs go through primary's parser, zeros through readDecompressed.
 */
export function readBombInChild(file: string, compression: MetadataCompression, content: BombContent, maxBytes: number): ChildBombResult {
  const src = path.resolve(__dirname, '..', 'src');
  const script = `
    const Module = require('node:module'), fs = require('node:fs'), path = require('node:path'), ts = require(${JSON.stringify(require.resolve('typescript'))});
    const resolve = Module._resolveFilename;
    Module._resolveFilename = function (request, parent, ...rest) {
      if (request.startsWith('.') && request.endsWith('.js') && parent && parent.filename.endsWith('.ts')) {
        const ts = path.resolve(path.dirname(parent.filename), request.slice(0, -3) + '.ts');
        if (fs.existsSync(ts)) return ts;
      }
      return resolve.call(this, request, parent, ...rest);
    };
    require.extensions['.ts'] = (module, filename) => {
      const options = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true };
      module._compile(ts.transpileModule(fs.readFileSync(filename, 'utf8'), { compilerOptions: options, fileName: filename }).outputText, filename);
    };
    const { readDecompressed } = require(${JSON.stringify(path.join(src, 'compression', 'metadata-compression.ts'))});
    const { readPrimaryPackages } = require(${JSON.stringify(path.join(src, 'metadata', 'primary-package-reader.ts'))});
    const hwm = () => Number(/^VmHWM:\\s+(\\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
    (async () => {
      const file = ${JSON.stringify(file)}, compression = ${JSON.stringify(compression)}, maxBytes = ${maxBytes};
      const before = process.memoryUsage().rss;
      try { fs.writeFileSync('/proc/self/clear_refs', '5'); } catch {}
      let result = { code: undefined, message: 'accepted', seenBytes: undefined };
      try {
        if (${JSON.stringify(content)} === 'zeros') {
          for await (const chunk of readDecompressed(file, { source: 'bomb', compression, maxBytes })) void chunk;
        } else {
          const href = 'repodata/bomb-primary.xml' + path.extname(file);
          for await (const packages of readPrimaryPackages({ path: file, href, type: 'primary' }, { maxBytes })) void packages;
        }
      } catch (error) {
        result = { code: error.code, message: error.message, seenBytes: error.details && error.details.seenBytes };
      }
      process.stdout.write(JSON.stringify({ ...result, rssGrowth: hwm() - before }));
    })();
  `;
  const output = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(output) as ChildBombResult;
}
