import { FingerprintReadAhead, type ReadFingerprintPage } from '../src/store/sqlite/thread/fingerprint-read-ahead.js';
import type { FingerprintCursor, FingerprintPage } from '../src/store/sqlite/catalog/sqlite-repo-unit-pages.js';

/** A version of `pages` pages of one unit each, page i's fingerprint being i; reads are counted. */
function pagedVersion(pages: number) {
  const reads: (string | undefined)[] = [];
  let failAt: string | undefined;
  const read: ReadFingerprintPage = (_repoId, _version, _remote, after: FingerprintCursor | undefined): FingerprintPage => {
    reads.push(after?.unitId);
    if (after?.unitId !== undefined && after.unitId === failAt) throw new Error('disk error');
    const at = after === undefined ? 0 : Number(after.unitId);
    return { fingerprints: Float64Array.of(at), next: at + 1 < pages ? { typeId: 't', unitId: String(at + 1) } : undefined };
  };
  return { read, reads, failOn: (unitId: string) => (failAt = unitId) };
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('FingerprintReadAhead', () => {
  test('after answering a page it reads the following ones, up to its depth, and answers them from there', async () => {
    const version = pagedVersion(10);
    const ahead = new FingerprintReadAhead(version.read, 3);
    const first = ahead.page('r', 1, 'remote', undefined, 1);
    expect(first.fingerprints[0]).toBe(0);
    await turns(10);
    expect(version.reads).toEqual([undefined, '1', '2', '3']);
    let page = first;
    const seen = [0];
    while (page.next) {
      page = ahead.page('r', 1, 'remote', page.next, 1);
      seen.push(page.fingerprints[0]!);
      await turns(2);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // every page read exactly once, and nothing past the last
    expect(version.reads).toEqual([undefined, '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  test('any other request drops what was read ahead: the next page is read again', async () => {
    const version = pagedVersion(5);
    const ahead = new FingerprintReadAhead(version.read, 2);
    const first = ahead.page('r', 1, 'remote', undefined, 1);
    await turns(5);
    ahead.drop();
    await turns(5);
    expect(version.reads).toEqual([undefined, '1', '2']);
    expect(ahead.page('r', 1, 'remote', first.next, 1).fingerprints[0]).toBe(1);
    expect(version.reads).toEqual([undefined, '1', '2', '1']);
  });

  test('another version, remote or page size is another stream', async () => {
    const version = pagedVersion(5);
    const ahead = new FingerprintReadAhead(version.read, 2);
    const first = ahead.page('r', 1, 'remote', undefined, 1);
    await turns(5);
    ahead.page('r', 1, 'another remote', first.next, 1);
    expect(version.reads).toEqual([undefined, '1', '2', '1']);
  });

  test('a page that fails when read ahead is read again when asked for, and its error answered then', async () => {
    const version = pagedVersion(5);
    version.failOn('2');
    const ahead = new FingerprintReadAhead(version.read, 3);
    const first = ahead.page('r', 1, 'remote', undefined, 1);
    await turns(5);
    const second = ahead.page('r', 1, 'remote', first.next, 1);
    expect(() => ahead.page('r', 1, 'remote', second.next, 1)).toThrow('disk error');
  });
});
