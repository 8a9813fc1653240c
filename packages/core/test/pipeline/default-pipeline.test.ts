import { Stage, type DeclarativeContent, type DownloadPolicy } from '@tributary/plugin-api';
import { defaultStages, runPipeline } from '../../src/pipeline/index';
import { sha256Of, type MemoryFetcher } from './memory-fetcher';
import { PipelineSync } from './pipeline-sync';
import { fileContent, ListSource } from './stage-harness';

const BASE = 'http://upstream.test/repo/';

/** Upstream as name → body; every sync reads it afresh, as a first stage would. */
type Upstream = Record<string, string>;

/** Runs the default stages of the sync under way over `upstream`. */
async function run(sync: PipelineSync, upstream: Upstream, policy: DownloadPolicy, mirror = false): Promise<MemoryFetcher> {
  const fetcher = sync.fetcher(new Map(Object.entries(upstream).map(([n, body]) => [`${BASE}${n}`, body])));
  const contents: DeclarativeContent[] = Object.entries(upstream).map(([n, body]) => fileContent(n, body));
  const ctx = sync.context({ fetcher, settings: { policy, mirror }, batchSize: 4 });
  await runPipeline({ stages: [new ListSource(contents), ...defaultStages(ctx)], plugin: 'file', repository: 'r', signal: sync.signal });
  return fetcher;
}

const upstreamOf = (count: number): Upstream => Object.fromEntries(Array.from({ length: count }, (_, i) => [`f${i}`, `body of f${i}`]));

describe('the default pipeline (RepoConduit and ResyncService over SQLite)', () => {
  let sync: PipelineSync;
  beforeEach(async () => {
    sync = await PipelineSync.open();
  });
  afterEach(async () => sync.close());

  it('immediate: downloads and stores every file, records a remote for each, and associates every unit', async () => {
    const fetcher = await run(sync, upstreamOf(10), 'immediate');
    expect(fetcher.requested).toHaveLength(10);
    expect(await sync.artifactCount()).toBe(10);
    expect(await sync.associatedCount()).toBe(10);
    expect((await sync.remotes()).size).toBe(10);
    const f3 = await sync.artifactsOf('file', { relativePath: 'f3', sha256: sha256Of('body of f3') });
    expect(f3).toEqual({ f3: sha256Of('body of f3') });
  });

  it('immediate: downloads start on the first content passed on, before the importer has passed on a whole batch', async () => {
    const upstream = upstreamOf(80);
    const fetcher = sync.fetcher(new Map(Object.entries(upstream).map(([n, body]) => [`${BASE}${n}`, body])));
    const contents = Object.entries(upstream).map(([n, body]) => fileContent(n, body));
    // an importer still reading its metadata: the rest comes only once a download has begun
    class SlowReader extends Stage {
      override async run(): Promise<void> {
        await this.putAll(contents.slice(0, 40));
        await fetcher.started(1);
        await this.putAll(contents.slice(40));
      }
    }
    // the default batch size (500): without a smaller first batch this would wait forever
    const ctx = sync.context({ fetcher, settings: { policy: 'immediate', mirror: false } });
    await runPipeline({ stages: [new SlowReader(), ...defaultStages(ctx)], plugin: 'file', repository: 'r', signal: sync.signal });
    expect(fetcher.requested).toHaveLength(80);
    expect(await sync.associatedCount()).toBe(80);
  });

  it('on_demand: downloads nothing and records a remote artifact with expected digests for every file', async () => {
    const fetcher = await run(sync, upstreamOf(10), 'on_demand');
    expect(fetcher.requested).toHaveLength(0);
    expect(await sync.artifactCount()).toBe(0);
    expect(await sync.associatedCount()).toBe(10);
    const key = { relativePath: 'f3', sha256: sha256Of('body of f3') };
    expect(await sync.artifactsOf('file', key)).toEqual({ f3: null });
    expect((await sync.remotes()).get(`${sync.unitId('file', key)}|f3`)).toMatchObject({
      remote: BASE,
      urls: [`${BASE}f3`],
      size: 'body of f3'.length,
      digests: { sha256: sha256Of('body of f3') },
    });
  });

  it('a re-sync with nothing changed downloads and writes no unit again', async () => {
    await run(sync, upstreamOf(10), 'immediate');
    await sync.commit();
    const writesBefore = sync.writtenPerCall.reduce((a, b) => a + b, 0);
    const lookupsBefore = sync.calls.findUnitsByKey;
    const fetcher = await run(sync, upstreamOf(10), 'immediate');
    expect(fetcher.requested).toHaveLength(0);
    expect(sync.writtenPerCall.reduce((a, b) => a + b, 0)).toBe(writesBefore);
    // the re-sync service found it all unchanged in the base version: nothing was even looked up
    expect(sync.calls.findUnitsByKey).toBe(lookupsBefore);
    expect(await sync.associatedCount()).toBe(10);
    // every unit of the base version was seen by this one: nothing is left to remove
    expect(await sync.conduit.unassociateUnseen()).toEqual({});
  });

  it('an immediate sync after an on_demand one downloads the files and records their bytes', async () => {
    await run(sync, upstreamOf(5), 'on_demand');
    await sync.commit();
    const fetcher = await run(sync, upstreamOf(5), 'immediate');
    expect(fetcher.requested).toHaveLength(5);
    expect(await sync.artifactsOf('file', { relativePath: 'f0', sha256: sha256Of('body of f0') })).toEqual({ f0: sha256Of('body of f0') });
  });

  it('mirror: units gone upstream are removed; without mirror they stay', async () => {
    await run(sync, upstreamOf(6), 'on_demand');
    await sync.commit();
    const shrunk = upstreamOf(4);
    await run(sync, shrunk, 'on_demand');
    expect(sync.calls.unassociateUnseen).toBeUndefined();
    expect(await sync.associatedCount()).toBe(6);
    await sync.commit();
    await run(sync, shrunk, 'on_demand', true);
    expect(sync.calls.unassociateUnseen).toBe(1);
    expect(sync.totals().removed).toBe(2);
    expect(await sync.associatedCount()).toBe(4);
  });
});
