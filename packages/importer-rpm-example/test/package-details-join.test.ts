import { Readable } from 'node:stream';
import { PackageDetailsCollector } from '../src/metadata/package-details-collector';
import { PackageDetailsJoin } from '../src/metadata/package-details-reader';
import type { PackageDetails } from '../src/metadata/package-details';
import { readXmlDocument } from '../src/xml/xml-document-reader';

function id(n: number): string {
  return n.toString(16).padStart(64, '0');
}

/** filelists.xml listing `ids` (one file each), read in chunks of `chunk` bytes. */
function filelists(ids: readonly number[], chunk = 64): AsyncGenerator<PackageDetails[]> {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="${ids.length}">\n${ids
    .map((n) => `<package pkgid="${id(n).toUpperCase()}" name="p${n}" arch="noarch">\n  <version epoch="0" ver="1" rel="1"/>\n  <file>/usr/bin/p${n}</file>\n  <file type="dir">/usr/share/p${n}</file>\n</package>\n`)
    .join('')}</filelists>`;
  const bytes = Buffer.from(xml);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) chunks.push(bytes.subarray(i, i + chunk));
  return readXmlDocument(Readable.from(chunks), 'filelists test', new PackageDetailsCollector('filelists', 'filelists test', 10));
}

async function joined(primary: readonly number[], listed: readonly number[], window?: number): Promise<{ files: (string | undefined)[]; problem: string | undefined }> {
  const join = new PackageDetailsJoin('filelists', 'filelists.xml.gz', filelists(listed), window);
  const files: (string | undefined)[] = [];
  for (const n of primary) files.push((join.ready(id(n)) ?? (await join.take(id(n))))?.files?.[0]?.[0]);
  return { files, problem: await join.finish() };
}

describe("filelists and other matched to primary's packages by pkgId", () => {
  test("in primary's order every package gets its entry (pkgid case does not matter), with file types", async () => {
    const join = new PackageDetailsJoin('filelists', 'f', filelists([1, 2, 3]));
    expect(await join.take(id(1))).toEqual({ pkgId: id(1), files: [['/usr/bin/p1'], ['/usr/share/p1', 'dir']], chars: expect.any(Number) });
    expect((await join.take(id(2)))?.files?.[0]).toEqual(['/usr/bin/p2']);
    expect((await join.take(id(3)))?.files?.[0]).toEqual(['/usr/bin/p3']);
    expect(await join.finish()).toBeUndefined();
  });

  test('a file a little out of order still matches entry for entry', async () => {
    const { files, problem } = await joined([1, 2, 3, 4, 5], [3, 1, 2, 5, 4]);
    expect(files).toEqual(['/usr/bin/p1', '/usr/bin/p2', '/usr/bin/p3', '/usr/bin/p4', '/usr/bin/p5']);
    expect(problem).toBeUndefined();
  });

  test('a package without an entry gets none, an entry of no package is counted, and the rest still match', async () => {
    const { files, problem } = await joined([1, 2, 3, 4], [1, 9, 3, 4]);
    expect(files).toEqual(['/usr/bin/p1', undefined, '/usr/bin/p3', '/usr/bin/p4']);
    expect(problem).toMatch(/1 package\(s\) of primary have no entry found in it \(their files are those primary lists\), 1 of its entries matched no package of primary; 3 matched/);
  });

  test('what waits is bounded: past the window the oldest entries are dropped and their packages get none', async () => {
    // every entry holds ~30 characters; a window of 100 holds three
    const primary = Array.from({ length: 20 }, (_, i) => i);
    const { files, problem } = await joined(primary, [...primary].reverse(), 100);
    const matched = files.filter((f) => f !== undefined).length;
    expect(matched).toBeGreaterThan(0);
    expect(matched).toBeLessThan(20);
    expect(problem).toMatch(new RegExp(`${20 - matched} package\\(s\\) of primary have no entry`));
  });

  test('the first batch is asked for when the join is made, so the file opens while primary does', async () => {
    const asked: string[] = [];
    async function* reader(): AsyncGenerator<PackageDetails[]> {
      asked.push('first batch');
      yield* filelists([1]);
    }
    const join = new PackageDetailsJoin('filelists', 'f', reader());
    expect(asked).toEqual(['first batch']);
    expect((await join.take(id(1)))?.files?.[0]).toEqual(['/usr/bin/p1']);
    expect(await join.finish()).toBeUndefined();
  });

  test("a file that fails before its first batch is taken fails the reading that takes it, and closing unread leaves no unhandled error", async () => {
    async function* broken(): AsyncGenerator<PackageDetails[]> {
      await Promise.resolve();
      throw new Error('filelists: bad gzip');
    }
    const taken = new PackageDetailsJoin('filelists', 'f', broken());
    await new Promise((resolve) => setImmediate(resolve));
    await expect(taken.take(id(1))).rejects.toThrow('filelists: bad gzip');

    const unhandled: unknown[] = [];
    const note = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', note);
    try {
      const closed = new PackageDetailsJoin('filelists', 'f', broken());
      await closed.close();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', note);
    }
    expect(unhandled).toEqual([]);
  });
});
