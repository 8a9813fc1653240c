import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
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
  // started before use: files asked for while a thread starts are written on the calling thread
  const writer = async (): Promise<SmallFileWriter> => {
    const created = make();
    writers.push(created);
    await created.start();
    return created;
  };

  test('many files asked for in one turn are each written byte for byte, then renamed into place', async () => {
    const w = await writer();
    const bodies = Array.from({ length: 300 }, (_, i) => randomBytes(1 + ((i * 977) % 20_000)));
    await Promise.all(bodies.map((body, i) => w.write(join(dir, `t${i}`), body)));
    await mkdir(join(dir, 'placed'));
    await Promise.all(bodies.map((_, i) => w.rename(join(dir, `t${i}`), join(dir, 'placed', `f${i}`))));
    bodies.forEach((body, i) => expect(readFileSync(join(dir, 'placed', `f${i}`)).equals(body)).toBe(true));
    expect(readdirSync(dir).filter((name) => name.startsWith('t'))).toEqual([]);
  });

  test('the caller keeps its buffer: a view into a larger one is copied, not taken', async () => {
    const w = await writer();
    const backing = randomBytes(4096);
    const view = backing.subarray(100, 200);
    await w.write(join(dir, 'view'), view);
    expect(backing.length).toBe(4096);
    expect(readFileSync(join(dir, 'view')).equals(backing.subarray(100, 200))).toBe(true);
  });

  test('a body given up whole is written the same; a view given up is still copied, its memory left alone', async () => {
    const w = await writer();
    const body = Buffer.from(randomBytes(300_000));
    const expected = Buffer.from(body);
    await w.write(join(dir, 'whole'), body, { transfer: true });
    expect(readFileSync(join(dir, 'whole')).equals(expected)).toBe(true);
    const backing = randomBytes(8192);
    const kept = Buffer.from(backing);
    await w.write(join(dir, 'part'), backing.subarray(10, 5000), { transfer: true });
    expect(backing.equals(kept)).toBe(true);
    expect(readFileSync(join(dir, 'part')).equals(kept.subarray(10, 5000))).toBe(true);
  });

  test('memory of bodyMemory given up with a body comes back and is reused: every file keeps its own bytes', async () => {
    const w = await writer();
    const size = 268_456;
    const bodies = Array.from({ length: 12 }, () => randomBytes(size));
    // rounds of four in flight at once, each body gathered in memory the previous round gave back
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        bodies.slice(round * 4, round * 4 + 4).map(async (body, i) => {
          const memory = w.bodyMemory(size);
          expect(memory.length).toBe(size);
          memory.set(body);
          const n = round * 4 + i;
          if (n % 2 === 0) await w.write(join(dir, `b${n}`), memory, { transfer: true });
          else expect((await w.writeHashed(join(dir, `b${n}`), memory, {}, { transfer: true })).written).toBe(true);
        }),
      );
    }
    bodies.forEach((body, n) => expect(readFileSync(join(dir, `b${n}`)).equals(body)).toBe(true));
  });

  test('a missing directory is created; a write that cannot be made fails with its errno code and leaves nothing; the others of the batch succeed', async () => {
    const w = await writer();
    writeFileSync(join(dir, 'plain'), 'not a directory');
    const results = await Promise.allSettled([
      w.write(join(dir, 'a'), Buffer.from('a')),
      w.write(join(dir, 'plain', 'b'), Buffer.from('b')),
      w.write(join(dir, 'missing', 'deeper', 'c'), Buffer.from('c')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(((results[1] as PromiseRejectedResult).reason as NodeJS.ErrnoException).code).toBe('ENOTDIR');
    expect(readFileSync(join(dir, 'plain'), 'utf8')).toBe('not a directory');
    expect(readFileSync(join(dir, 'missing', 'deeper', 'c'), 'utf8')).toBe('c');
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('a');
  });

  test('renaming a file that is not there fails with ENOENT', async () => {
    const w = await writer();
    await expect(w.rename(join(dir, 'nothing'), join(dir, 'x'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('after close the same calls still work, on the calling thread', async () => {
    const w = await writer();
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

test('the writer starts its thread only once more than a few files were asked for', async () => {
  const w = new SmallFileWriter({ startAfter: 3 });
  writers.push(w);
  const threads = () => (w as unknown as { workers: unknown[] }).workers.length;
  for (let i = 0; i < 3; i++) await w.write(join(dir, `first${i}`), Buffer.from('a'));
  expect(threads()).toBe(0);
  await w.write(join(dir, 'fourth'), Buffer.from('b'));
  expect(threads()).toBe(1);
  expect(readdirSync(dir).sort()).toEqual(['first0', 'first1', 'first2', 'fourth']);
});

onLinux('the writer started with startAfter 0 starts a thread on first use and ends it on close', async () => {
  const w = new SmallFileWriter({ startAfter: 0 });
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

test('files asked for while the thread starts are written all the same, and the thread then takes over', async () => {
  const w = new SmallFileWriter();
  writers.push(w);
  const bodies = Array.from({ length: 50 }, (_, i) => randomBytes(100 + i));
  // the first batch goes out before the thread runs, the second after
  await Promise.all(bodies.slice(0, 25).map((body, i) => w.write(join(dir, `early${i}`), body)));
  await w.start();
  await Promise.all(bodies.slice(25).map((body, i) => w.write(join(dir, `late${i}`), body)));
  bodies.slice(0, 25).forEach((body, i) => expect(readFileSync(join(dir, `early${i}`)).equals(body)).toBe(true));
  bodies.slice(25).forEach((body, i) => expect(readFileSync(join(dir, `late${i}`)).equals(body)).toBe(true));
});
