/** readPages: page after page until a short one; with `ahead`, the next page is asked for before this one is handed on. */
import { readPages } from '../src/store/sqlite/sqlite-page-streams.js';

interface Item {
  typeId: string;
  unitId: string;
}

function pager(total: number, log: string[]) {
  const items: Item[] = Array.from({ length: total }, (_, i) => ({ typeId: 't', unitId: String(i).padStart(3, '0') }));
  return async (after: { unitId: string } | undefined, size: number): Promise<Item[]> => {
    log.push(`ask ${after?.unitId ?? 'start'}`);
    const from = after === undefined ? 0 : items.findIndex((i) => i.unitId === after.unitId) + 1;
    return items.slice(from, from + size);
  };
}

describe('readPages', () => {
  test.each([false, true])('yields every item once, in order (ahead: %s), and stops at a short page', async (ahead) => {
    for (const total of [0, 3, 4, 9]) {
      const log: string[] = [];
      const read = pager(total, log);
      const seen: string[] = [];
      for await (const item of readPages(3, (after) => read(after, 3), { ahead })) seen.push(item.unitId);
      expect(seen).toEqual(Array.from({ length: total }, (_, i) => String(i).padStart(3, '0')));
      expect(log.length).toBe(Math.floor(total / 3) + 1);
    }
  });

  test('ahead: the next page is asked for before the first item of this one is handed on', async () => {
    const log: string[] = [];
    const read = pager(7, log);
    for await (const item of readPages(3, (after) => read(after, 3), { ahead: true })) log.push(`item ${item.unitId}`);
    expect(log).toEqual(['ask start', 'ask 002', 'item 000', 'item 001', 'item 002', 'ask 005', 'item 003', 'item 004', 'item 005', 'item 006']);
  });

  test('ahead: a failed page read surfaces where it is awaited, and one never awaited is not unhandled', async () => {
    let calls = 0;
    const failing = async (after: unknown): Promise<Item[]> => {
      calls++;
      if (after !== undefined) throw new Error('page failed');
      return [{ typeId: 't', unitId: 'a' }];
    };
    // the caller stops after the first item: the page asked ahead fails unobserved
    for await (const _ of readPages(1, failing, { ahead: true })) break;
    expect(calls).toBe(2);
    await expect(
      (async () => {
        for await (const _ of readPages(1, failing, { ahead: true }));
      })(),
    ).rejects.toThrow('page failed');
  });
});
