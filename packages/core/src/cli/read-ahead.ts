/**
 * The items of `source` in batches, read up to `limit` items ahead of the consumer: while the
 * consumer formats one batch, the next page is already being read (the catalog thread and the
 * main thread work at once instead of waiting for each other). Stopping early (a `break`, the
 * reader of stdout gone) stops the reading and closes `source`.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, limit: number): AsyncGenerator<T[]> {
  const iterator = source[Symbol.asyncIterator]();
  let buffer: T[] = [];
  let finished = false;
  let stopped = false;
  let failure: { error: unknown } | undefined;
  let wakeConsumer: (() => void) | undefined;
  let wakeReader: (() => void) | undefined;
  const wake = (which: 'consumer' | 'reader'): void => {
    const resolve = which === 'consumer' ? wakeConsumer : wakeReader;
    if (which === 'consumer') wakeConsumer = undefined;
    else wakeReader = undefined;
    resolve?.();
  };

  const reading = (async () => {
    try {
      while (!stopped) {
        if (buffer.length >= limit) {
          await new Promise<void>((resolve) => (wakeReader = resolve));
          continue;
        }
        const next = await iterator.next();
        if (next.done) break;
        buffer.push(next.value);
        if (buffer.length === 1) wake('consumer');
      }
    } catch (error) {
      failure = { error };
    } finally {
      finished = true;
      wake('consumer');
    }
  })();

  try {
    for (;;) {
      if (buffer.length === 0) {
        if (failure) throw failure.error;
        if (finished) return;
        await new Promise<void>((resolve) => (wakeConsumer = resolve));
        continue;
      }
      const batch = buffer;
      buffer = [];
      wake('reader');
      yield batch;
    }
  } finally {
    stopped = true;
    wake('reader');
    await reading;
    if (!failure) await iterator.return?.();
  }
}
