import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DeclarativeContent, Stage } from '@tributary/plugin-api';
import { runPipeline } from '../../src/pipeline/index';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const TOTAL = 200_000;
const QUEUE_CAPACITY = 50;
const BATCH_SIZE = 500;
const BATCHING_STAGES = 3;

class PassThroughBatches extends Stage {
  override async run(): Promise<void> {
    for await (const batch of this.batches(BATCH_SIZE)) for (const dc of batch) await this.put(dc);
  }
}

describe('pipeline back-pressure', () => {
  it('a slow last stage bounds the content in flight while the first stage produces 200,000 items, and the heap stays flat', async () => {
    let produced = 0;
    let consumed = 0;
    let maxInFlight = 0;
    let heapEarly = 0;
    let heapLate = 0;

    class Producer extends Stage {
      override async run(): Promise<void> {
        for (let i = 0; i < TOTAL; i++) {
          if (i === 20_000) heapEarly = heapAfterGc();
          if (i === TOTAL - 10_000) heapLate = heapAfterGc();
          const dc = new DeclarativeContent({
            typeId: 'note',
            key: { title: `note-${i}` },
            // ~100 bytes per item: keeping all of them would add tens of MB
            metadata: { body: `${'lorem ipsum '.repeat(8)}${i}` },
          });
          produced++;
          maxInFlight = Math.max(maxInFlight, produced - consumed);
          await this.put(dc);
        }
      }
    }
    class SlowSink extends Stage {
      override async run(): Promise<void> {
        let i = 0;
        for await (const _ of this.items()) {
          consumed++;
          // yields to the event loop every few items: slower than everything upstream
          if (++i % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      }
    }

    const stages = [new Producer(), ...Array.from({ length: BATCHING_STAGES }, () => new PassThroughBatches()), new SlowSink()];
    await runPipeline({ stages, plugin: 'p', repository: 'r', queueCapacity: QUEUE_CAPACITY });

    expect(consumed).toBe(TOTAL);
    // each queue full, each batching stage holding one batch, one item in the producer and one in the sink
    const bound = (stages.length - 1) * QUEUE_CAPACITY + BATCHING_STAGES * BATCH_SIZE + 2;
    expect(maxInFlight).toBeLessThanOrEqual(bound);
    // the pipeline did fill up: the bound is what held the producer back, not luck
    expect(maxInFlight).toBeGreaterThan(BATCH_SIZE);
    const growthMiB = (heapLate - heapEarly) / 2 ** 20;
    expect(growthMiB).toBeLessThan(8);
  });
});
