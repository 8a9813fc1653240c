import { DeclarativeContent, ErrorCodes, isTributaryError, Stage, type DeclarativeContentInit } from '@tributary/plugin-api';
import { runPipeline } from '../../src/pipeline/index';
import { EmissionIndex } from '../../src/conduit/emission-index';
import { Collector, failureOf } from './stage-harness';

const content = (name: string, extra: Partial<DeclarativeContentInit> = {}): DeclarativeContent =>
  new DeclarativeContent({ typeId: 'note', key: { name }, metadata: { title: name }, artifacts: [{ url: `http://u.test/${name}`, relativePath: `notes/${name}.txt` }], ...extra });

/** A first stage running `body` as its run(). */
class Source extends Stage {
  constructor(private readonly body: (stage: Source) => Promise<void>) {
    super('Source');
  }
  override async run(): Promise<void> {
    await this.body(this);
  }
}

/** A last stage that takes its time before it reads each item. */
class SlowCollector extends Collector {
  constructor(private readonly delayMs: number) {
    super();
  }
  override async run(): Promise<void> {
    for await (const dc of this.items()) {
      await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      this.seen.push(dc);
    }
  }
}

const run = (first: Stage, last: Stage = new Collector(), extra: { stallTimeoutMs?: number; queueCapacity?: number } = {}) =>
  runPipeline({ stages: [first, last], plugin: 'p', repository: 'r', ...extra });

describe("host checks on what a first stage emits", () => {
  it('a put() from a detached promise after run() returned fails the sync, naming the content', async () => {
    let latePut!: () => void;
    const lateDone = new Promise<void>((resolve) => (latePut = resolve));
    const first = new Source(async (stage) => {
      await stage.put(content('a'));
      setTimeout(() => {
        void stage.put(content('late'));
        latePut();
      }, 5);
    });
    /** Holds the sync open, after the first item, until the detached put() has happened: however late its timer fires. */
    class WaitingCollector extends Collector {
      override async run(): Promise<void> {
        for await (const dc of this.items()) {
          this.seen.push(dc);
          await lateDone;
        }
      }
    }
    const failure = await failureOf(run(first, new WaitingCollector()));
    expect(failure.cause).toMatchObject({ code: ErrorCodes.PLUGIN_MISBEHAVED });
    expect((failure.cause as Error).message).toMatch(/put\(\) content 'note' \{"name":"late"\} after its run\(\) had returned[\s\S]*detached promises/);
  });

  it('returning while a put() still waits for room fails the sync', async () => {
    const first = new Source(async (stage) => {
      for (const name of ['a', 'b', 'c', 'd']) void stage.put(content(name)); // not awaited
    });
    const failure = await failureOf(run(first, new SlowCollector(5), { queueCapacity: 2 }));
    expect((failure.cause as Error).message).toMatch(/returned from run\(\) while 2 put\(\) call\(s\) still waited/);
  });

  it('key and metadata are frozen at put(), so changing them afterwards throws where it happens', async () => {
    const first = new Source(async (stage) => {
      const key: { name: string } = { name: 'a' };
      const dc = new DeclarativeContent({ typeId: 'note', key, metadata: { title: 'a' } });
      await stage.put(dc);
      key.name = 'b';
    });
    const failure = await failureOf(run(first));
    expect(String((failure.cause as Error).message)).toMatch(/read only|read-only/);
  });

  it('the same key twice with different metadata is an error naming the key and both emissions', async () => {
    const first = new Source(async (stage) => {
      await stage.put(content('a'));
      await stage.put(content('b'));
      await stage.put(content('a', { metadata: { title: 'other' } }));
    });
    const failure = await failureOf(run(first));
    expect(failure.cause).toMatchObject({ code: ErrorCodes.PLUGIN_MISBEHAVED, details: { rule: 'duplicate-key', ordinal: 3, earlierOrdinal: 1 } });
    expect((failure.cause as Error).message).toMatch(/emitted unit 'note' \{"name":"a"\} twice in one sync with different metadata or files \(content #1 and #3\)/);
  });

  it('the same key twice with the same content is accepted (indexes do list a record twice)', async () => {
    const collector = new Collector();
    await run(new Source(async (stage) => {
      await stage.put(content('a'));
      await stage.put(content('a'));
    }), collector);
    expect(collector.seen).toHaveLength(2);
  });

  it('two units claiming one relative path is an error naming both', async () => {
    const first = new Source(async (stage) => {
      await stage.put(content('a'));
      await stage.put(content('b', { artifacts: [{ url: 'http://u.test/x', relativePath: 'notes/a.txt' }] }));
    });
    const failure = await failureOf(run(first));
    expect(failure.cause).toMatchObject({ details: { rule: 'duplicate-relative-path', relativePath: 'notes/a.txt', earlierOrdinal: 1 } });
    expect((failure.cause as Error).message).toMatch(/content #2 \('note' \{"name":"b"\}\) with artifact 'notes\/a\.txt', the relative path content #1/);
  });

  it('keys with the same fields in another order are one unit', () => {
    const index = new EmissionIndex();
    expect(index.record(new DeclarativeContent({ typeId: 't', key: { a: '1', b: 2 }, metadata: { x: 1 } }))).toBeUndefined();
    expect(index.record(new DeclarativeContent({ typeId: 't', key: { b: 2, a: '1' }, metadata: { x: 2 } }))).toMatchObject({ kind: 'key' });
    expect(index.record(new DeclarativeContent({ typeId: 't', key: { a: 1, b: 2 }, metadata: { x: 2 } }))).toBeUndefined(); // 1 is not '1'
    expect(index.record(new DeclarativeContent({ typeId: 'u', key: { a: '1', b: 2 }, metadata: { x: 2 } }))).toBeUndefined();
  });

  it('remembers 50,000 distinct emissions without a false duplicate', () => {
    const index = new EmissionIndex();
    const n = 50_000;
    const metadata = { name: 'pkg', version: '1.2.3', release: '4.el9', arch: 'x86_64', summary: 'A package', description: 'x'.repeat(400), requires: ['a', 'b', 'c'] };
    const sha256 = 'a'.repeat(64);
    const artifact = (i: number) => ({ relativePath: `Packages/pkg${i}.rpm`, digests: { sha256 }, size: 1000 });
    for (let i = 0; i < n; i++) {
      // a stand-in with the fields the index reads: building real contents is not what is measured
      const dc = { typeId: 'rpm', key: { name: `pkg${i}`, version: '1.2.3', release: '4.el9', arch: 'x86_64' }, metadata, metadataJson: undefined, artifacts: [artifact(i)] };
      if (index.record(dc as unknown as DeclarativeContent)) throw new Error(`false duplicate at ${i}`);
    }
    expect(index.count).toBe(n);
  });
});

describe('progress watchdog', () => {
  it('fails a first stage that awaits resolution() of content it never put, naming it, without waiting for the stage', async () => {
    const first = new Source(async () => {
      const orphan = new DeclarativeContent({ typeId: 'note', key: { name: 'orphan' } });
      await orphan.resolution();
    });
    // the stage never returns: were the watchdog to wait for it, this would hang until jest's timeout
    const failure = await failureOf(run(first, new Collector(), { stallTimeoutMs: 200 }));
    expect(failure.code).toBe(ErrorCodes.SYNC_FAILED);
    expect(isTributaryError(failure.cause, ErrorCodes.TIMEOUT)).toBe(true);
    expect((failure.cause as Error).message).toMatch(/no progress for 0\.2 s: the first stage Source awaits resolution\(\) of 1 content\(s\) it never put\(\): 'note' \{"name":"orphan"\}/);
  });

  it('names a first stage waiting on something outside the pipeline', async () => {
    const first = new Source(() => new Promise<void>(() => undefined));
    const failure = await failureOf(run(first, new Collector(), { stallTimeoutMs: 150 }));
    expect((failure.cause as Error).message).toMatch(/first stage Source is still running but has put nothing[\s\S]*outside the pipeline/);
  });

  it('leaves a slow pipeline that keeps moving alone', async () => {
    const collector = new Collector();
    const first = new Source(async (stage) => {
      for (let i = 0; i < 12; i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        await stage.put(content(`n${i}`));
      }
    });
    await run(first, collector, { stallTimeoutMs: 100 });
    expect(collector.seen).toHaveLength(12);
  });
});
