import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SmallFileWriter, smallFileWriterScript } from '../src/storage/small-file-writer.js';

let dir: string;
const writers: SmallFileWriter[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-small-files-'));
});

afterEach(async () => {
  for (const writer of writers.splice(0)) await writer.close();
  await rm(dir, { recursive: true, force: true });
});

/** The thread's writer, and the same without its script: every behaviour must hold for both. */
const variants: [string, () => SmallFileWriter][] = [
  ['on its thread', () => new SmallFileWriter()],
  ['without the thread (callback fs)', () => new SmallFileWriter({ script: null })],
  ['on two threads', () => new SmallFileWriter({ threads: 2 })],
];

describe.each(variants)('SmallFileWriter %s', (_name, make) => {
  const writer = (): SmallFileWriter => {
    const created = make();
    writers.push(created);
    return created;
  };

  test('many files asked for in one turn are each written byte for byte, then renamed into place', async () => {
    const w = writer();
    const bodies = Array.from({ length: 300 }, (_, i) => randomBytes(1 + ((i * 977) % 20_000)));
    await Promise.all(bodies.map((body, i) => w.write(join(dir, `t${i}`), body)));
    await mkdir(join(dir, 'placed'));
    await Promise.all(bodies.map((_, i) => w.rename(join(dir, `t${i}`), join(dir, 'placed', `f${i}`))));
    bodies.forEach((body, i) => expect(readFileSync(join(dir, 'placed', `f${i}`)).equals(body)).toBe(true));
    expect(readdirSync(dir).filter((name) => name.startsWith('t'))).toEqual([]);
  });

  test('the caller keeps its buffer: a view into a larger one is copied, not taken', async () => {
    const w = writer();
    const backing = randomBytes(4096);
    const view = backing.subarray(100, 200);
    await w.write(join(dir, 'view'), view);
    expect(backing.length).toBe(4096);
    expect(readFileSync(join(dir, 'view')).equals(backing.subarray(100, 200))).toBe(true);
  });

  test('a write into a missing directory fails with its errno code and leaves nothing; the others of the batch succeed', async () => {
    const w = writer();
    const results = await Promise.allSettled([
      w.write(join(dir, 'a'), Buffer.from('a')),
      w.write(join(dir, 'missing', 'b'), Buffer.from('b')),
      w.write(join(dir, 'c'), Buffer.from('c')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(((results[1] as PromiseRejectedResult).reason as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(existsSync(join(dir, 'missing'))).toBe(false);
    expect(readFileSync(join(dir, 'c'), 'utf8')).toBe('c');
  });

  test('renaming a file that is not there fails with ENOENT', async () => {
    const w = writer();
    await expect(w.rename(join(dir, 'nothing'), join(dir, 'x'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('after close the same calls still work, on the calling thread', async () => {
    const w = writer();
    await w.write(join(dir, 'before'), Buffer.from('1'));
    await w.close();
    await w.write(join(dir, 'after'), Buffer.from('2'));
    await w.rename(join(dir, 'after'), join(dir, 'renamed'));
    expect(readFileSync(join(dir, 'renamed'), 'utf8')).toBe('2');
  });
});

test('the thread script is found (in the build, when the tests run from source)', () => {
  expect(smallFileWriterScript()).toMatch(/small-file-writer-thread\.js$/);
});

const threadIds = (): Set<string> => new Set(readdirSync('/proc/self/task'));
const onLinux = existsSync('/proc/self/task') ? test : test.skip;

onLinux('the writer starts a thread on first use and ends it on close', async () => {
  const w = new SmallFileWriter();
  writers.push(w);
  const before = threadIds();
  await w.write(join(dir, 'a'), Buffer.from('a'));
  // threads of earlier test files may still be ending: look only at the ones that came
  const started = [...threadIds()].filter((id) => !before.has(id));
  expect(started).toHaveLength(1);
  await w.close();
  const until = Date.now() + 30_000;
  while (threadIds().has(started[0]!) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(threadIds().has(started[0]!)).toBe(false);
});
