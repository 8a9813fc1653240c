import type { FingerprintCursor, FingerprintPage, PageCursor } from './catalog/sqlite-repo-unit-pages.js';

/**
 * Streams made of pages: how both SQLite stores turn the catalog's page reads (in process, or
 * asked of the catalog thread) into the port's streams, nothing staying open between pages.
 */

/**
 * Yields page after page until one comes back short; `readPage` reads the page after a cursor.
 * With `ahead`, the next page is asked for as soon as a full one arrives, before its items are
 * handed on: a catalog on its own thread reads it while the caller works through this one (at
 * most one page ahead). Only for committed versions' pages, which later writes do not change.
 */
export async function* readPages<T extends { typeId: string; unitId: string }>(
  pageSize: number,
  readPage: (after: PageCursor | undefined) => T[] | Promise<T[]>,
  options: { readonly ahead?: boolean } = {},
): AsyncIterable<T> {
  const cursorAfter = (page: readonly T[]): PageCursor => {
    const last = page[page.length - 1]!;
    return { typeId: last.typeId, unitId: last.unitId };
  };
  if (!options.ahead) {
    let after: PageCursor | undefined;
    for (;;) {
      const page = await readPage(after);
      yield* page;
      if (page.length < pageSize) return;
      after = cursorAfter(page);
    }
  }
  const ask = (after: PageCursor | undefined): Promise<T[]> => {
    const asked = (async () => readPage(after))();
    asked.catch(() => undefined); // surfaces where it is awaited; unobserved when the caller stops early
    return asked;
  };
  let next = ask(undefined);
  for (;;) {
    const page = await next;
    if (page.length < pageSize) {
      yield* page;
      return;
    }
    next = ask(cursorAfter(page));
    yield* page;
  }
}

/**
 * The fingerprint lists of every page. The next page is asked for as soon as one arrives, before
 * it is handed on: a catalog on its own thread reads it while the caller takes this one in (at
 * most one page ahead), rather than idling until the caller, busy with other work, asks.
 */
export async function* readFingerprintPages(
  readPage: (after: FingerprintCursor | undefined) => FingerprintPage | Promise<FingerprintPage>,
): AsyncIterable<Float64Array> {
  const ask = (after: FingerprintCursor | undefined): Promise<FingerprintPage> => {
    let asked: Promise<FingerprintPage>;
    try {
      asked = Promise.resolve(readPage(after));
    } catch (error) {
      asked = Promise.reject(error as Error);
    }
    asked.catch(() => undefined); // surfaces where it is awaited; unobserved when the caller stops early
    return asked;
  };
  let next = ask(undefined);
  for (;;) {
    const page = await next;
    if (page.next === undefined) {
      yield page.fingerprints;
      return;
    }
    next = ask(page.next);
    yield page.fingerprints;
  }
}

/** Yields the items of page after page, each read after the cursor the one before gave, until a page gives none. */
export async function* readCursorPages<C, T>(readPage: (after: C | undefined) => { items: T[]; next: C | undefined } | Promise<{ items: T[]; next: C | undefined }>): AsyncIterable<T> {
  let after: C | undefined;
  for (;;) {
    const { items, next } = await readPage(after);
    yield* items;
    if (next === undefined) return;
    after = next;
  }
}
