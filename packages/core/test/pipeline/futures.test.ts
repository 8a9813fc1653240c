import {
  DeclarativeContent,
  ErrorCodes,
  isTributaryError,
  Stage,
  TributaryError,
  type FirstStageContext,
  type UnitRef,
} from '@tributary/plugin-api';
import { defaultStages, runPipeline, ResolveContentFutures } from '../../src/pipeline/index';
import { sha256Of } from './memory-fetcher';
import { PipelineSync } from './pipeline-sync';

const BASE = 'http://upstream.test/repo/';

/** A `meta` parent whose file must be downloaded even on_demand, and `file` children it lists. */
function parent(name: string): DeclarativeContent {
  const body = `children of ${name}`;
  return new DeclarativeContent({
    typeId: 'meta',
    key: { name },
    artifacts: [{ url: `${BASE}${name}.meta`, relativePath: `${name}.meta`, digests: { sha256: sha256Of(body) }, deferredDownload: false }],
  });
}

/** A file known by its path alone. */
function child(name: string): DeclarativeContent {
  return new DeclarativeContent({
    typeId: 'doc',
    key: { relativePath: name },
    artifacts: [{ url: `${BASE}${name}`, relativePath: name, digests: { sha256: sha256Of(`body of ${name}`) } }],
  });
}

function bodiesFor(parents: readonly string[]): Map<string, string> {
  const bodies = new Map<string, string>();
  for (const p of parents) {
    bodies.set(`${BASE}${p}.meta`, `children of ${p}`);
    for (const c of [`${p}/a`, `${p}/b`]) bodies.set(`${BASE}${c}`, `body of ${c}`);
  }
  return bodies;
}

/** Emits parents, awaits their resolution (and downloaded file), then emits their children and awaits those. */
class DiscoveringFirstStage extends Stage {
  readonly parentUnits: (UnitRef | undefined)[] = [];
  readonly childUnits: (UnitRef | undefined)[] = [];
  constructor(private readonly names: readonly string[]) {
    super('DiscoveringFirstStage');
  }
  override async run(): Promise<void> {
    const parents = this.names.map(parent);
    for (const p of parents) await this.put(p);
    this.parentUnits.push(...(await Promise.all(parents.map((p) => p.resolution()))));
    const children: DeclarativeContent[] = [];
    for (const p of parents) {
      // the parent's file is in storage now, which is what a plugin would read to find children
      if (!p.artifacts[0]!.stored) throw new Error(`parent ${String(p.key.name)} resolved without its file stored`);
      for (const suffix of ['a', 'b']) children.push(child(`${String(p.key.name)}/${suffix}`));
    }
    for (const c of children) await this.put(c);
    this.childUnits.push(...(await Promise.all(children.map((c) => c.resolution()))));
  }
}

describe('content futures', () => {
  let sync: PipelineSync;
  beforeEach(async () => {
    sync = await PipelineSync.open();
  });
  afterEach(async () => sync.close());

  it('multi-level discovery through the default stages does not deadlock with batch size 500 and 3 items', async () => {
    const fetcher = sync.fetcher(bodiesFor(['p1', 'p2', 'p3']));
    const ctx = sync.context({ fetcher, settings: { policy: 'on_demand' }, batchSize: 500 });
    const first = new DiscoveringFirstStage(['p1', 'p2', 'p3']);
    await runPipeline({ stages: [first, ...defaultStages(ctx)], plugin: 'p', repository: 'r', queueCapacity: 100 });

    expect(first.parentUnits.map((u) => u?.key.name)).toEqual(['p1', 'p2', 'p3']);
    expect(first.childUnits.map((u) => u?.key.relativePath)).toEqual(['p1/a', 'p1/b', 'p2/a', 'p2/b', 'p3/a', 'p3/b']);
    expect(await sync.associatedCount()).toBe(9);
    // on_demand: only the parents' files (deferredDownload: false) were fetched
    expect(fetcher.requested.sort()).toEqual([`${BASE}p1.meta`, `${BASE}p2.meta`, `${BASE}p3.meta`]);
    expect(await sync.artifactsOf('meta', { name: 'p1' })).toEqual({ 'p1.meta': sha256Of('children of p1') });
    expect(await sync.artifactsOf('doc', { relativePath: 'p1/a' })).toEqual({ 'p1/a': null });
  });

  it('partial batches flush as soon as a future inside them is awaited', async () => {
    class Recorder extends Stage {
      readonly sizes: number[] = [];
      override async run(): Promise<void> {
        for await (const batch of this.batches(500)) {
          this.sizes.push(batch.length);
          for (const dc of batch) {
            dc.unit = { unitId: String(dc.key.n), typeId: dc.typeId, key: dc.key };
            await this.put(dc);
          }
        }
      }
    }
    class Emitter extends Stage {
      override async run(): Promise<void> {
        const first = [0, 1, 2].map((n) => new DeclarativeContent({ typeId: 'n', key: { n } }));
        for (const dc of first) await this.put(dc);
        await Promise.all(first.map((dc) => dc.resolution()));
        const second = [3, 4, 5, 6, 7, 8].map((n) => new DeclarativeContent({ typeId: 'n', key: { n } }));
        for (const dc of second) await this.put(dc);
        await second[5]!.resolution();
      }
    }
    const recorder = new Recorder();
    await runPipeline({ stages: [new Emitter(), recorder, new ResolveContentFutures(sync.context())], plugin: 'p', repository: 'r' });
    expect(recorder.sizes).toEqual([3, 6]);
  });

  it('resolve() drops content early: it is neither stored nor associated, and its waiters wake', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `f${i}`);
    const fetcher = sync.fetcher(new Map(names.map((n) => [`${BASE}${n}`, `body of ${n}`])));
    const ctx = sync.context({ fetcher, settings: { policy: 'immediate' } });
    const contents = names.map(child);
    const waiting = contents.map((dc) => dc.resolution());

    /** A plugin stage that drops debug files, as the seed's example does. */
    class DropSome extends Stage {
      override async run(): Promise<void> {
        for await (const dc of this.items()) {
          if (dc.key.relativePath === 'f3' || dc.key.relativePath === 'f7') dc.resolve();
          else await this.put(dc);
        }
      }
    }
    class Source extends Stage {
      override async run(): Promise<void> {
        for (const dc of contents) await this.put(dc);
        contents[9]!.resolve(); // resolved after it entered the pipeline: later stages drop it
      }
    }
    const insertions = [{ after: 'QueryExistingContents' as const, create: () => new DropSome() }];
    const stages = [new Source(), ...defaultStages(ctx, insertions, {} as FirstStageContext)];
    expect(stages.map((s) => s.name).slice(0, 4)).toEqual(['Source', 'QueryExistingContents', 'DropSome', 'QueryExistingArtifacts']);
    await runPipeline({ stages, plugin: 'p', repository: 'r' });

    const resolved = await Promise.all(waiting);
    expect(resolved[3]).toBeUndefined();
    expect(resolved[7]).toBeUndefined();
    expect(resolved[9]).toBeUndefined();
    expect(resolved[0]?.key).toEqual({ relativePath: 'f0' });
    const associated = (await sync.associated()).map((unit) => unit.key.relativePath).sort();
    expect(associated).toEqual(['f0', 'f1', 'f2', 'f4', 'f5', 'f6', 'f8']);
    // content the plugin's stage dropped was not stored either
    expect(await sync.findUnits('doc', [{ relativePath: 'f3' }, { relativePath: 'f7' }])).toEqual([]);
    expect(fetcher.requested).not.toContain(`${BASE}f3`);
    expect(fetcher.requested).not.toContain(`${BASE}f7`);
  });

  it('an awaited future rejects when a later stage fails, so the first stage cannot hang the sync', async () => {
    // the catalog cannot write units
    jest.spyOn(sync.store, 'upsertUnits').mockRejectedValue(new TributaryError(ErrorCodes.STORE, 'disk full'));
    let awaitError: unknown;
    class AwaitingFirstStage extends Stage {
      override async run(): Promise<void> {
        const dc = child('x');
        await this.put(dc);
        try {
          await dc.resolution();
        } catch (error) {
          awaitError = error;
          throw error;
        }
      }
    }
    const ctx = sync.context({ settings: { policy: 'on_demand' } });
    const error = await runPipeline({ stages: [new AwaitingFirstStage(), ...defaultStages(ctx)], plugin: 'p', repository: 'r' }).catch((e) => e);
    expect(error.stage).toBe('ContentSaver');
    expect(error.details.causeCode).toBe(ErrorCodes.STORE);
    expect(isTributaryError(awaitError, ErrorCodes.SYNC_CANCELLED)).toBe(true);
  });
});
