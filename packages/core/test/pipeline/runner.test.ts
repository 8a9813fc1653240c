import {
  DeclarativeContent,
  ErrorCodes,
  isTributaryError,
  Stage,
  TributaryError,
} from '@tributary/plugin-api';
import { performance } from 'node:perf_hooks';
import { runPipeline } from '../../src/pipeline/index';
import { Collector, failureOf, ListSource } from './stage-harness';

const note = (i: number): DeclarativeContent => new DeclarativeContent({ typeId: 'note', key: { n: i } });
const notes = (count: number): DeclarativeContent[] => Array.from({ length: count }, (_, i) => note(i));

/** Records the size of every batch it reads, then passes the content on. */
class BatchRecorder extends Stage {
  readonly sizes: number[] = [];
  constructor(
    private readonly minSize: number,
    name = 'BatchRecorder',
  ) {
    super(name);
  }
  override async run(): Promise<void> {
    for await (const batch of this.batches(this.minSize)) {
      this.sizes.push(batch.length);
      for (const dc of batch) await this.put(dc);
    }
  }
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

describe('pipeline runner', () => {
  it('batches(n) yields full batches of n and the remainder when input ends', async () => {
    const recorder = new BatchRecorder(500);
    const collector = new Collector();
    await runPipeline({ stages: [new ListSource(notes(1234)), recorder, collector], plugin: 'p', repository: 'r', queueCapacity: 7 });
    expect(recorder.sizes).toEqual([500, 500, 234]);
    expect(collector.seen.map((dc) => dc.key.n)).toEqual(Array.from({ length: 1234 }, (_, i) => i));
  });

  it('passes content through every stage in order and reports per-stage timings', async () => {
    const first = new BatchRecorder(10, 'First');
    const second = new BatchRecorder(3, 'Second');
    const collector = new Collector();
    const { timings } = await runPipeline({ stages: [new ListSource(notes(25)), first, second, collector], plugin: 'p', repository: 'r' });
    expect(first.sizes).toEqual([10, 10, 5]);
    expect(second.sizes.reduce((a, b) => a + b, 0)).toBe(25);
    expect(second.sizes.every((n) => n <= 3)).toBe(true);
    expect(collector.seen).toHaveLength(25);
    expect(Object.keys(timings)).toEqual(['ListSource', 'First', 'Second', 'Collector']);
    for (const ms of Object.values(timings)) expect(ms).toBeGreaterThanOrEqual(0);
  });

  it('reports as busy the time a stage works, not the time it waits on its neighbours', async () => {
    // The runner reads performance.now(). Here it reads a clock that only SlowBatches moves, 10 ms
    // per batch, at a moment when every other stage waits on a queue (the next task, after every
    // pending promise settled): the expected figures are exact, whatever the machine's speed.
    let clock = 0;
    const now = jest.spyOn(performance, 'now').mockImplementation(() => clock);
    class SlowBatches extends Stage {
      override async run(): Promise<void> {
        for await (const batch of this.batches(5)) {
          await new Promise((resolve) => setImmediate(resolve));
          clock += 10;
          for (const dc of batch) await this.put(dc);
        }
      }
    }
    let result: Awaited<ReturnType<typeof runPipeline>>;
    try {
      result = await runPipeline({
        stages: [new ListSource(notes(100)), new BatchRecorder(5, 'Before'), new SlowBatches(), new BatchRecorder(5, 'After'), new Collector()],
        plugin: 'p',
        repository: 'r',
        queueCapacity: 5,
      });
    } finally {
      now.mockRestore();
    }
    const { timings, busy } = result;
    // twenty batches of 10 ms each, all of it work
    expect(clock).toBe(200);
    expect(busy.SlowBatches).toBe(200);
    // the stages around it spent those 200 ms waiting for room or for content: none of it is busy
    expect(timings.Before).toBeGreaterThan(0);
    expect(timings.After).toBe(200);
    expect(busy.Before).toBe(0);
    expect(busy.After).toBe(0);
    for (const name of Object.keys(timings)) expect(busy[name]).toBeLessThanOrEqual(timings[name]!);
  });

  it('gives stages that share a name distinct timing entries', async () => {
    const { timings } = await runPipeline({
      stages: [new ListSource(notes(3)), new BatchRecorder(2), new BatchRecorder(2), new Collector()],
      plugin: 'p',
      repository: 'r',
    });
    expect(Object.keys(timings)).toEqual(['ListSource', 'BatchRecorder', 'BatchRecorder#2', 'Collector']);
  });

  it('the first error stops every stage and surfaces one SyncFailedError naming plugin, repository and stage', async () => {
    const settled: string[] = [];
    class EndlessSource extends Stage {
      override async run(): Promise<void> {
        try {
          for (let i = 0; ; i++) await this.put(note(i));
        } finally {
          settled.push(this.name);
        }
      }
    }
    class Breaker extends Stage {
      override async run(): Promise<void> {
        try {
          let seen = 0;
          for await (const batch of this.batches(3)) {
            seen += batch.length;
            if (seen > 3) throw new TributaryError(ErrorCodes.MANIFEST_INVALID, 'line 6: wrong column count');
            for (const dc of batch) await this.put(dc);
          }
        } finally {
          settled.push(this.name);
        }
      }
    }
    class SlowSink extends Stage {
      override async run(): Promise<void> {
        try {
          // busy with the first item on something unrelated to queues; only the signal ends it early
          for await (const _ of this.items()) await untilAborted(this.signal);
        } finally {
          settled.push(this.name);
        }
      }
    }
    const error = await failureOf(
      runPipeline({ stages: [new EndlessSource(), new Breaker(), new SlowSink()], plugin: 'notes', repository: 'repo-a', queueCapacity: 4 }),
    );
    expect(error.code).toBe(ErrorCodes.SYNC_FAILED);
    expect(error.stage).toBe('Breaker');
    expect(error.plugin).toBe('notes');
    expect(error.repository).toBe('repo-a');
    expect(error.details.causeCode).toBe(ErrorCodes.MANIFEST_INVALID);
    expect(error.message).toContain('line 6');
    // every stage had returned before the run rejected
    expect(settled.sort()).toEqual(['Breaker', 'EndlessSource', 'SlowSink']);
  });

  it('a stage that returns without consuming its input fails the sync instead of dropping content', async () => {
    class Quitter extends Stage {
      override async run(): Promise<void> {
        for await (const dc of this.items()) {
          await this.put(dc);
          if (dc.key.n === 4) return;
        }
      }
    }
    const error = await failureOf(
      runPipeline({ stages: [new ListSource(notes(20)), new Quitter(), new Collector()], plugin: 'p', repository: 'r', queueCapacity: 2 }),
    );
    expect(error.stage).toBe('Quitter');
    expect(error.details.causeCode).toBe(ErrorCodes.PLUGIN_MISBEHAVED);
  });

  it('a plain Error from a plugin stage is wrapped with the stage name', async () => {
    class Buggy extends Stage {
      override async run(): Promise<void> {
        for await (const dc of this.items()) {
          if (dc.key.n === 2) throw new TypeError('cannot read properties of undefined');
          await this.put(dc);
        }
      }
    }
    const error = await failureOf(runPipeline({ stages: [new ListSource(notes(5)), new Buggy(), new Collector()], plugin: 'p', repository: 'r' }));
    expect(error.stage).toBe('Buggy');
    expect(error.cause).toBeInstanceOf(TypeError);
    expect(error.message).toContain('cannot read properties of undefined');
  });

  it('something that is not a stage is refused before anything runs', async () => {
    const error = await failureOf(
      runPipeline({ stages: [new ListSource(notes(1)), { name: 'Fake', run: async () => undefined } as unknown as Stage], plugin: 'p', repository: 'r' }),
    );
    expect(error.stage).toBe('Fake');
    expect(error.details.causeCode).toBe(ErrorCodes.PLUGIN_MISBEHAVED);
  });

  it('an already aborted signal cancels before any stage runs', async () => {
    const source = new ListSource(notes(3));
    const collector = new Collector();
    const error = await failureOf(
      runPipeline({ stages: [source, collector], plugin: 'p', repository: 'r', signal: AbortSignal.abort(new Error('user pressed ^C')) }),
    );
    expect(error.code).toBe(ErrorCodes.SYNC_CANCELLED);
    expect(collector.seen).toHaveLength(0);
  });

  it('an abort reason that is a typed error (a lost lease) fails the sync with that cause, not as a cancellation', async () => {
    const controller = new AbortController();
    class Waiting extends Stage {
      override async run(): Promise<void> {
        for await (const dc of this.items()) await this.put(dc);
      }
    }
    class Forever extends Stage {
      override async run(): Promise<void> {
        await this.put(note(0));
        controller.abort(new TributaryError(ErrorCodes.LEASE_LOST, 'lease of repository r was taken over'));
        await untilAborted(this.signal);
      }
    }
    const error = await failureOf(runPipeline({ stages: [new Forever(), new Waiting()], plugin: 'p', repository: 'r', signal: controller.signal }));
    expect(error.code).toBe(ErrorCodes.SYNC_FAILED);
    expect(error.details.causeCode).toBe(ErrorCodes.LEASE_LOST);
    expect(error.stage).toBe('Forever');
  });

  it('an empty stage list is refused', async () => {
    const error = await runPipeline({ stages: [], plugin: 'p', repository: 'r' }).catch((e: unknown) => e);
    expect(isTributaryError(error, ErrorCodes.INVALID_ARGUMENT)).toBe(true);
  });
});
