import {
  DeclarativeContent,
  ErrorCodes,
  Stage,
  TributaryError,
  type DownloadExpectation,
  type DownloadedFile,
  type RemoteFetcher,
  type SkippedUnit,
  type UnitRef,
} from '@tributary/plugin-api';
import { defaultStages, runPipeline, SkippedUnits, type PipelineContext } from '../../src/pipeline/index';
import { sha256Of, type MemoryFetcher } from './memory-fetcher';
import { PipelineSync } from './pipeline-sync';
import { failureOf, fileContent, ListSource } from './stage-harness';

const BASE = 'http://upstream.test/repo/';

/** A hang fails the run with TRIBUTARY_ERR_TIMEOUT long before jest's hang detector; a passing run never waits for it. */
const STALL_MS = 60_000;

let sync: PipelineSync;
beforeEach(async () => {
  sync = await PipelineSync.open();
});
afterEach(async () => sync.close());

/** A `meta` parent whose file is fetched even on_demand, listing two `doc` children. */
function parent(name: string): DeclarativeContent {
  return new DeclarativeContent({
    typeId: 'meta',
    key: { name },
    artifacts: [{ url: `${BASE}${name}.meta`, relativePath: `${name}.meta`, digests: { sha256: sha256Of(`children of ${name}`) }, deferredDownload: false }],
  });
}

function child(name: string): DeclarativeContent {
  return new DeclarativeContent({
    typeId: 'doc',
    key: { relativePath: name },
    artifacts: [{ url: `${BASE}${name}`, relativePath: name, digests: { sha256: sha256Of(`body of ${name}`) } }],
  });
}

/** Upstream serving every parent and child of `parents`, less `missing` (404) and with `corrupt` served wrong bytes. */
function upstream(parents: readonly string[], missing: readonly string[] = [], corrupt: readonly string[] = []): MemoryFetcher {
  const bodies = new Map<string, string>();
  for (const p of parents) {
    bodies.set(`${BASE}${p}.meta`, `children of ${p}`);
    for (const c of [`${p}/a`, `${p}/b`]) bodies.set(`${BASE}${c}`, `body of ${c}`);
  }
  for (const path of missing) bodies.delete(`${BASE}${path}`);
  for (const path of corrupt) bodies.set(`${BASE}${path}`, `not the body of ${path}`);
  return sync.fetcher(bodies);
}

/** Emits the parents and awaits them, then emits the children of those that resolved to a unit and awaits those. */
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
    parents.forEach((p, i) => {
      if (this.parentUnits[i]) for (const suffix of ['a', 'b']) children.push(child(`${String(p.key.name)}/${suffix}`));
    });
    for (const c of children) await this.put(c);
    this.childUnits.push(...(await Promise.all(children.map((c) => c.resolution()))));
  }
}

function skipping(limit: number, fetcher: RemoteFetcher, settings: Partial<PipelineContext['settings']> = {}): { ctx: PipelineContext; skipped: SkippedUnit[] } {
  const skipped: SkippedUnit[] = [];
  const ctx: PipelineContext = { ...sync.context({ fetcher, settings, batchSize: 500 }), skips: new SkippedUnits(limit, (unit) => skipped.push(unit)) };
  return { ctx, skipped };
}

const run = (first: Stage, ctx: PipelineContext) => runPipeline({ stages: [first, ...defaultStages(ctx)], plugin: 'p', repository: 'r', stallTimeoutMs: STALL_MS });

describe('skipping units whose files fail', () => {
  it('awaited content whose file fails resolves with undefined, so discovery goes on (batch size 500, no deadlock)', async () => {
    // p2's own file is missing, and one child of p1 is served corrupt
    const fetcher = upstream(['p1', 'p2', 'p3'], ['p2.meta'], ['p1/b']);
    const { ctx, skipped } = skipping(5, fetcher);
    const first = new DiscoveringFirstStage(['p1', 'p2', 'p3']);
    await run(first, ctx);

    expect(first.parentUnits.map((u) => u?.key.name)).toEqual(['p1', undefined, 'p3']);
    expect(first.childUnits.map((u) => u?.key.relativePath)).toEqual(['p1/a', undefined, 'p3/a', 'p3/b']);
    expect(skipped.map((s) => [s.typeId, s.key, s.relativePath, s.url, s.code])).toEqual([
      ['meta', { name: 'p2' }, 'p2.meta', `${BASE}p2.meta`, ErrorCodes.HTTP_STATUS],
      ['doc', { relativePath: 'p1/b' }, 'p1/b', `${BASE}p1/b`, ErrorCodes.DIGEST_MISMATCH],
    ]);
    // neither saved nor associated; what did not fail is
    expect((await sync.associated()).map((u) => u.key.name ?? u.key.relativePath).sort()).toEqual(['p1', 'p1/a', 'p3', 'p3/a', 'p3/b']);
    expect(await sync.findUnits('meta', [{ name: 'p2' }])).toEqual([]);
    expect(await sync.findUnits('doc', [{ relativePath: 'p1/b' }])).toEqual([]);
  });

  it('a unit is left out whole when one of its files fails: none of them is stored', async () => {
    const fetcher = sync.fetcher(new Map([[`${BASE}x/1`, 'one'], [`${BASE}y`, 'why']]));
    const pair = new DeclarativeContent({
      typeId: 'pkg',
      key: { name: 'x' },
      artifacts: [
        { url: `${BASE}x/1`, relativePath: 'x/1', digests: { sha256: sha256Of('one') } },
        { url: `${BASE}x/2`, relativePath: 'x/2', digests: { sha256: sha256Of('two') } },
      ],
    });
    const { ctx, skipped } = skipping(1, fetcher);
    await run(new ListSource([pair, fileContent('y', 'why')]), ctx);

    expect(skipped.map((s) => s.relativePath)).toEqual(['x/2']);
    expect(await sync.findUnits('pkg', [{ name: 'x' }])).toEqual([]);
    // only y's bytes went into storage; x/1 was downloaded but never adopted
    expect(await sync.artifactCount()).toBe(1);
    expect((await sync.associated()).map((u) => u.key.relativePath)).toEqual(['y']);
  });

  it('one failure more than the limit fails the sync with that failure’s code, naming the limit', async () => {
    const names = ['a', 'b', 'c', 'd'];
    const fetcher = sync.fetcher(new Map(names.map((n) => [`${BASE}${n}`, `BODY OF ${n}`])));
    const { ctx, skipped } = skipping(3, fetcher);
    const error = await failureOf(run(new ListSource(names.map((n) => fileContent(n, `body of ${n}`))), ctx));

    expect(error.stage).toBe('ArtifactDownloader');
    expect(error.details.causeCode).toBe(ErrorCodes.DIGEST_MISMATCH);
    expect(error.message).toContain("4 units' files failed, more than the 3 the sync may skip");
    expect(skipped).toHaveLength(3);
  });

  it('a network error is not skipped: an unreachable remote fails the sync as before', async () => {
    const unreachable: RemoteFetcher = {
      download: async (_url: string | readonly string[], _expected?: DownloadExpectation): Promise<DownloadedFile> => {
        throw new TributaryError(ErrorCodes.NETWORK, 'connect ECONNREFUSED 127.0.0.1:9');
      },
    };
    const { ctx, skipped } = skipping(100, unreachable);
    const error = await failureOf(run(new ListSource([fileContent('a', 'alpha')]), ctx));
    expect(error.details.causeCode).toBe(ErrorCodes.NETWORK);
    expect(skipped).toEqual([]);
  });

  describe('a unit the previous version holds whose file now fails (an on_demand sync, then an immediate one)', () => {
    async function onDemandThenImmediate(mirror: boolean): Promise<{ associated: string[]; skipped: SkippedUnit[] }> {
      const contents = () => ['a', 'b'].map((n) => fileContent(n, `body of ${n}`));
      await run(new ListSource(contents()), sync.context({ settings: { policy: 'on_demand' } }));
      await sync.commit();
      // b is gone from upstream's file server, though its index still lists it
      const { ctx, skipped } = skipping(5, sync.fetcher(new Map([[`${BASE}a`, 'body of a']])), { policy: 'immediate', mirror });
      await run(new ListSource(contents()), ctx);
      return { associated: (await sync.associated()).map((u) => String(u.key.relativePath)).sort(), skipped };
    }

    it('an additive sync keeps it as it was (its bytes still not stored)', async () => {
      const { associated, skipped } = await onDemandThenImmediate(false);
      expect(skipped.map((s) => s.relativePath)).toEqual(['b']);
      expect(associated).toEqual(['a', 'b']);
      expect(await sync.artifactsOf('file', { relativePath: 'b', sha256: sha256Of('body of b') })).toEqual({ b: null });
      expect(await sync.artifactsOf('file', { relativePath: 'a', sha256: sha256Of('body of a') })).toEqual({ a: sha256Of('body of a') });
    });

    it('a mirror sync removes it: it was not seen', async () => {
      const { associated, skipped } = await onDemandThenImmediate(true);
      expect(skipped.map((s) => s.relativePath)).toEqual(['b']);
      expect(associated).toEqual(['a']);
    });
  });
});
