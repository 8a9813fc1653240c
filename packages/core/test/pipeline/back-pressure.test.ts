import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type ContentQueue, DeclarativeContent, Stage } from '@tributary/plugin-api';
import { runPipeline } from '../../src/pipeline/index';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/*
 * Everything here is counted, nothing timed: the sink is slower than the stages before it because
 * it hands the event loop over every few items while they never have to, so the bounds below hold,
 * and are reached, on a machine of any speed.
 */
const TOTAL = 5_000;
const QUEUE_CAPACITY = 50;
const BATCH_SIZE = 100;
const BATCHING_STAGES = 3;
/** Content produced but not yet consumed, at most: each queue full, each batching stage holding one batch, one item in the producer and one in the sink. */
const IN_FLIGHT_BOUND = (BATCHING_STAGES + 1) * QUEUE_CAPACITY + BATCHING_STAGES * BATCH_SIZE + 2;

type Queue = ContentQueue<DeclarativeContent>;

/** The most items each queue of the pipeline held at once. */
const mostHeld = new Map<Queue, number>();

/**
 * Records how full `queue` gets. Items leave a queue only through poll() and get(), so the fullest
 * it ever is comes right before one of them (or at the end): looking there misses no peak.
 */
function watch(queue: Queue | undefined): void {
  if (queue === undefined || mostHeld.has(queue)) return;
  mostHeld.set(queue, 0);
  const note = () => mostHeld.set(queue, Math.max(mostHeld.get(queue)!, queue.size));
  const poll = queue.poll.bind(queue);
  const get = queue.get.bind(queue);
  queue.poll = () => {
    note();
    return poll();
  };
  queue.get = () => {
    note();
    return get();
  };
}

/** A stage whose queues are watched. */
abstract class WatchedStage extends Stage {
  override connect(input: Queue | undefined, output: Queue | undefined, signal: AbortSignal): void {
    watch(input);
    watch(output);
    super.connect(input, output, signal);
  }
}

class PassThroughBatches extends WatchedStage {
  override async run(): Promise<void> {
    for await (const batch of this.batches(BATCH_SIZE)) for (const dc of batch) await this.put(dc);
  }
}

/**
 * Collects garbage until `settled()` holds, for at most 50 rounds. Finalization callbacks run in a
 * task of their own after a collection, so each round lets the event loop turn before looking.
 */
async function collectUntil(settled: () => boolean): Promise<void> {
  for (let round = 0; round < 50 && !settled(); round++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('pipeline back-pressure', () => {
  it('a slow last stage bounds the content in flight, and the content alive, while the first stage produces 5,000 items; every queue fills and none overflows', async () => {
    let produced = 0;
    let consumed = 0;
    let maxInFlight = 0;
    /** Content the garbage collector has reclaimed: what was produced and is not reclaimed is alive. */
    let reclaimed = 0;
    const registry = new FinalizationRegistry<undefined>(() => void reclaimed++);
    /** Content produced, and content alive, at a few points during the run. */
    const checks: Array<{ produced: number; alive: number }> = [];

    class Producer extends WatchedStage {
      override async run(): Promise<void> {
        for (let i = 0; i < TOTAL; i++) {
          if (i > 0 && i % 1_000 === 0) {
            // the stages after this one drain meanwhile: whatever is consumed may be reclaimed
            await collectUntil(() => produced - reclaimed <= IN_FLIGHT_BOUND);
            checks.push({ produced, alive: produced - reclaimed });
          }
          const dc = new DeclarativeContent({
            typeId: 'note',
            key: { title: `note-${i}` },
            metadata: { body: `${'lorem ipsum '.repeat(8)}${i}` },
          });
          registry.register(dc, undefined);
          produced++;
          maxInFlight = Math.max(maxInFlight, produced - consumed);
          await this.put(dc);
        }
      }
    }
    const order: number[] = [];
    class SlowSink extends WatchedStage {
      override async run(): Promise<void> {
        for await (const dc of this.items()) {
          consumed++;
          if (consumed % 500 === 0) order.push(Number(String(dc.key['title']).slice('note-'.length)));
          // hands the event loop over every few items: slower than everything upstream
          if (consumed % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      }
    }

    const stages = [new Producer(), ...Array.from({ length: BATCHING_STAGES }, () => new PassThroughBatches()), new SlowSink()];
    await runPipeline({ stages, plugin: 'p', repository: 'r', queueCapacity: QUEUE_CAPACITY });

    expect(consumed).toBe(TOTAL);
    expect(order).toEqual(Array.from({ length: TOTAL / 500 }, (_, i) => (i + 1) * 500 - 1));

    // no queue ever held more than its capacity, and every one of them filled up: the slow sink
    // held back each stage before it, all the way to the producer
    expect(mostHeld.size).toBe(stages.length - 1);
    expect([...mostHeld.values()]).toEqual(Array.from({ length: stages.length - 1 }, () => QUEUE_CAPACITY));

    // the producer ran ahead of the sink by no more than what the pipeline can hold, and did fill it
    expect(maxInFlight).toBeLessThanOrEqual(IN_FLIGHT_BOUND);
    expect(maxInFlight).toBeGreaterThan(BATCHING_STAGES * QUEUE_CAPACITY + BATCH_SIZE);

    // memory: consumed content is let go, so the content alive stays within what the pipeline can
    // hold, however much was produced (kept, it would grow by 1,000 between checks)
    expect(checks).toEqual([1_000, 2_000, 3_000, 4_000].map((n) => ({ produced: n, alive: expect.any(Number) })));
    for (const check of checks) expect(check.alive).toBeLessThanOrEqual(IN_FLIGHT_BOUND);
    // and nothing is kept once the sync is over
    await collectUntil(() => reclaimed === TOTAL);
    expect(produced - reclaimed).toBe(0);
  });
});
