/**
 * Where a small downloaded file should be written before it is renamed to its content address:
 * a question for the storage layout (issue 3, goal (b)). Prints figures; asserts nothing.
 *
 *   npm run bench:placement -- [--files 20000] [--file-size 16384] [--rounds 3] [--dir DIR]
 *
 * Writes FILES files of FILE_SIZE bytes with synchronous calls (as the storage's writer thread
 * does: open exclusive, write, close, rename), each to a content address under `store/xx/`, two
 * ways, alternating between them round by round so the file system's drift (this VM's ext4 swings
 * several-fold within minutes) hits both alike:
 *   cross: the temp file in one scratch directory (as a sync's scope is today), renamed across;
 *   same:  the temp file in the target directory itself, renamed in place;
 *   direct: the file written at its content address, no temp file and no rename (a ceiling only:
 *           a crash mid-write would leave a torn file under a content address).
 */
import { randomBytes, createHash } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runBenchmark } from './bench-process.js';

type Placement = 'cross' | 'same' | 'direct';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '20000' },
    'file-size': { type: 'string', default: '16384' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string' },
  },
});
const files = Number(values.files);
const body = randomBytes(Number(values['file-size']));
const rounds = Number(values.rounds);

function writeAll(root: string, placement: Placement, round: number): number {
  const base = path.join(root, `${placement}-${round}`);
  const scope = path.join(base, 'scope');
  const store = path.join(base, 'store');
  mkdirSync(scope, { recursive: true });
  for (let i = 0; i < 256; i++) mkdirSync(path.join(store, i.toString(16).padStart(2, '0')), { recursive: true });
  const names = Array.from({ length: files }, (_, i) => createHash('sha256').update(`${round}:${i}`).digest('hex'));
  const started = process.hrtime.bigint();
  for (let i = 0; i < files; i++) {
    const name = names[i]!;
    const dir = path.join(store, name.slice(0, 2));
    const target = path.join(dir, name);
    const temp = placement === 'cross' ? path.join(scope, `part-${i}`) : placement === 'same' ? path.join(dir, `.part-${i}`) : target;
    const fd = openSync(temp, 'wx');
    writeSync(fd, body);
    closeSync(fd);
    if (temp !== target) renameSync(temp, target);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  rmSync(base, { recursive: true, force: true });
  return seconds;
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(values.dir ?? os.tmpdir(), 'tributary-bench-placement-'));
  try {
    const seconds: Record<Placement, number[]> = { cross: [], same: [], direct: [] };
    for (let round = 0; round < rounds; round++) {
      const order: Placement[] = round % 2 === 0 ? ['cross', 'same', 'direct'] : ['direct', 'same', 'cross'];
      for (const placement of order) seconds[placement].push(writeAll(root, placement, round));
    }
    const show = (list: number[]) => list.map((s) => s.toFixed(2)).join(', ');
    const ratios = seconds.cross.map((cross, i) => cross / seconds.same[i]!);
    console.log(`file placement — ${files} files of ${body.length} B in ${root}, ${rounds} alternating rounds`);
    console.log(`cross (temp in a scratch directory, renamed across): ${show(seconds.cross)} s`);
    console.log(`same  (temp in the target directory, renamed in place): ${show(seconds.same)} s`);
    console.log(`direct (written at its content address, no rename): ${show(seconds.direct)} s`);
    console.log(`cross / same per round: ${ratios.map((r) => r.toFixed(2)).join(', ')}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

runBenchmark(main);
