import { ContentQueue, DeclarativeContent, ErrorCodes, isTributaryError, QUEUE_END, Stage } from '@tributary/plugin-api';

/** Lets every pending promise callback run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ContentQueue resumeProducersAt', () => {
  it('by default wakes a producer waiting for room as soon as one item is taken', async () => {
    const queue = new ContentQueue<number>(4);
    for (let i = 0; i < 4; i++) await queue.put(i);
    let putDone = false;
    void queue.put(4).then(() => (putDone = true));
    await settle();
    expect(putDone).toBe(false);
    expect(queue.poll()).toBe(0);
    await settle();
    expect(putDone).toBe(true);
    expect(queue.size).toBe(4);
  });

  it('wakes it only once the queue is down to the mark, and never holds more than the capacity', async () => {
    const queue = new ContentQueue<number>(4, undefined, { resumeProducersAt: 1 });
    let produced = 0;
    let maxSize = 0;
    const producer = (async () => {
      for (let i = 0; i < 20; i++) {
        await queue.put(i);
        produced++;
        maxSize = Math.max(maxSize, queue.size);
      }
      queue.close();
    })();
    await settle();
    expect(produced).toBe(4);
    expect(queue.poll()).toBe(0);
    expect(queue.poll()).toBe(1);
    await settle();
    expect(produced).toBe(4); // two items held: above the mark
    expect(queue.poll()).toBe(2);
    await settle();
    expect(produced).toBe(7); // woken at one item held, it refilled to the capacity
    const rest: number[] = [];
    for (let next = queue.poll(); next !== QUEUE_END; next = queue.poll()) {
      if (next === undefined) await settle();
      else rest.push(next);
    }
    await producer;
    expect(rest).toEqual(Array.from({ length: 17 }, (_, i) => i + 3));
    expect(maxSize).toBeLessThanOrEqual(4);
  });

  it('refuses a mark outside 0 to capacity - 1', () => {
    for (const mark of [-1, 4, 1.5, Number.NaN]) {
      let error: unknown;
      try {
        new ContentQueue<number>(4, undefined, { resumeProducersAt: mark });
      } catch (caught) {
        error = caught;
      }
      expect(isTributaryError(error, ErrorCodes.INVALID_ARGUMENT)).toBe(true);
    }
  });
});

describe('Stage.putAll', () => {
  class Source extends Stage {
    override async run(): Promise<void> {}
  }
  const content = (i: number): DeclarativeContent => new DeclarativeContent({ typeId: 't', key: { i } });

  it('passes content on in order, waiting only while the next queue is full', async () => {
    const queue = new ContentQueue<DeclarativeContent>(4);
    const stage = new Source();
    stage.connect(undefined, queue, new AbortController().signal);
    let done = false;
    const putting = stage.putAll(Array.from({ length: 10 }, (_, i) => content(i))).then(() => (done = true));
    await settle();
    expect([done, queue.size]).toEqual([false, 4]);
    const taken: unknown[] = [];
    while (taken.length < 10) {
      const next = queue.poll();
      if (next === undefined || next === QUEUE_END) await settle();
      else taken.push(next.key.i);
    }
    await putting;
    expect(taken).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('ties each content to the sync, so an awaited future rejects when the sync stops', async () => {
    const controller = new AbortController();
    const stage = new Source();
    stage.connect(undefined, new ContentQueue<DeclarativeContent>(4, controller.signal), controller.signal);
    const contents = [content(1), content(2)];
    await stage.putAll(contents);
    const futures = contents.map((dc) => dc.resolution());
    controller.abort(new Error('stop'));
    for (const future of futures) await expect(future).rejects.toMatchObject({ code: ErrorCodes.SYNC_CANCELLED });
  });
});

describe('Stage.batches firstBatch', () => {
  class Batches extends Stage {
    readonly sizes: number[] = [];
    constructor(private readonly options: { minSize: number; firstBatch?: number }) {
      super('Batches');
    }
    override async run(): Promise<void> {
      const { minSize, firstBatch } = this.options;
      for await (const batch of this.batches(minSize, firstBatch === undefined ? {} : { firstBatch })) this.sizes.push(batch.length);
    }
  }

  const batchSizes = async (count: number, options: { minSize: number; firstBatch?: number }): Promise<number[]> => {
    const input = new ContentQueue<DeclarativeContent>(1000);
    for (let i = 0; i < count; i++) await input.put(new DeclarativeContent({ typeId: 't', key: { i } }));
    input.close();
    const stage = new Batches(options);
    stage.connect(input, undefined, new AbortController().signal);
    await stage.run();
    return stage.sizes;
  };

  it('yields the first batch at firstBatch items, then each twice the one before up to minSize', async () => {
    expect(await batchSizes(250, { minSize: 100, firstBatch: 8 })).toEqual([8, 16, 32, 64, 100, 30]);
  });

  /**
   * A producer that puts one item, then another after a turn of the event loop, and the order in
   * which the producer's turn and the consumer's first item come.
   */
  const firstHandOver = async (consume: (stage: Stage) => AsyncIterable<unknown>): Promise<string[]> => {
    const events: string[] = [];
    const input = new ContentQueue<DeclarativeContent>(100);
    class Consumer extends Stage {
      override async run(): Promise<void> {
        for await (const got of consume(this)) events.push(`got ${Array.isArray(got) ? got.length : 1}`);
      }
    }
    const stage = new Consumer();
    stage.connect(input, undefined, new AbortController().signal);
    const consuming = stage.run();
    await settle(); // the consumer waits for its first item
    void input.put(new DeclarativeContent({ typeId: 't', key: { i: 0 } }));
    await new Promise((resolve) => setImmediate(resolve));
    events.push('producer turn');
    await input.put(new DeclarativeContent({ typeId: 't', key: { i: 1 } }));
    input.close();
    await consuming;
    return events;
  };

  it('hands the first content over at once, without the turn a waiting reader gives the producer later', async () => {
    // items(): the first item before the producer's next turn
    expect((await firstHandOver((stage) => (stage as unknown as { items(): AsyncIterable<unknown> }).items()))[0]).toBe('got 1');
    // batches with firstBatch 1: the first batch likewise
    expect((await firstHandOver((stage) => (stage as unknown as { batches(min: number, o: object): AsyncIterable<unknown> }).batches(10, { firstBatch: 1 })))[0]).toBe('got 1');
    // without firstBatch, the reader lets the producer run on first and takes both at once
    expect(await firstHandOver((stage) => (stage as unknown as { batches(min: number): AsyncIterable<unknown> }).batches(10))).toEqual(['producer turn', 'got 2']);
  });

  it('hands a first batch short of firstBatch over once the stage before pauses (busy reading what comes next)', async () => {
    const events: string[] = [];
    const input = new ContentQueue<DeclarativeContent>(100);
    class Consumer extends Stage {
      override async run(): Promise<void> {
        for await (const batch of this.batches(100, { firstBatch: 8 })) events.push(`got ${batch.length}`);
      }
    }
    const stage = new Consumer();
    stage.connect(input, undefined, new AbortController().signal);
    const consuming = stage.run();
    for (let i = 0; i < 3; i++) void input.put(new DeclarativeContent({ typeId: 't', key: { i } }));
    await new Promise((resolve) => setImmediate(resolve));
    events.push('producer turn');
    for (let i = 3; i < 8; i++) void input.put(new DeclarativeContent({ typeId: 't', key: { i } }));
    input.close();
    await consuming;
    expect(events).toEqual(['got 3', 'producer turn', 'got 5']);
  });

  it('without it, or with one larger than minSize, every batch is minSize', async () => {
    expect(await batchSizes(250, { minSize: 100 })).toEqual([100, 100, 50]);
    expect(await batchSizes(250, { minSize: 100, firstBatch: 500 })).toEqual([100, 100, 50]);
  });
});
