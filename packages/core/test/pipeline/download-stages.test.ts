import { DeclarativeContent, ErrorCodes, Stage, type RemoteFetcher, type SyncSettings } from '@tributary/plugin-api';
import { ArtifactDownloader, ArtifactSaver, runPipeline } from '../../src/pipeline/index';
import { sha256Of, TransferLimitedFetcher, type MemoryFetcher } from './memory-fetcher';
import { PipelineSync } from './pipeline-sync';
import { fileContent, ListSource, throughStage } from './stage-harness';

const BASE = 'http://upstream.test/repo/';

let sync: PipelineSync;
beforeEach(async () => {
  sync = await PipelineSync.open();
});
afterEach(async () => sync.close());

function upstream(names: readonly string[]): MemoryFetcher {
  return sync.fetcher(new Map(names.map((n) => [`${BASE}${n}`, `body of ${n}`])));
}

/** Serves `count` files f0… through a fetcher that runs at most `transferLimit` transfers at once. */
function limitedUpstream(count: number, transferLimit: number): { names: string[]; fetcher: TransferLimitedFetcher } {
  const names = Array.from({ length: count }, (_, i) => `f${i}`);
  return { names, fetcher: new TransferLimitedFetcher(new Map(names.map((n) => [`${BASE}${n}`, `body of ${n}`])), transferLimit, sync.staging) };
}

function downloaderFor(fetcher: RemoteFetcher, settings: Partial<SyncSettings>, downloadConcurrency?: number): ArtifactDownloader {
  return new ArtifactDownloader(sync.context({ fetcher, settings, ...(downloadConcurrency ? { downloadConcurrency } : {}) }));
}

describe('ArtifactDownloader', () => {
  it('immediate: downloads every artifact not already stored, verified against its declared digest', async () => {
    const fetcher = upstream(['a', 'b', 'c']);
    const contents = ['a', 'b', 'c'].map((n) => fileContent(n, `body of ${n}`));
    // b's bytes are stored already
    contents[1]!.artifacts[0]!.stored = await sync.storeBytes('body of b');
    const out = await throughStage(downloaderFor(fetcher, { policy: 'immediate' }), contents);

    expect(out).toHaveLength(3);
    expect(fetcher.requested.sort()).toEqual([`${BASE}a`, `${BASE}c`]);
    const a = out.find((dc) => dc.key.relativePath === 'a')!;
    expect(a.artifacts[0]!.downloaded?.digests.sha256).toBe(sha256Of('body of a'));
    expect(out.find((dc) => dc.key.relativePath === 'b')!.artifacts[0]!.downloaded).toBeUndefined();
  });

  it('on_demand: downloads only artifacts declared with deferredDownload false', async () => {
    const fetcher = upstream(['a', 'b', 'c']);
    const contents = [
      fileContent('a', 'body of a'),
      new DeclarativeContent({
        typeId: 'meta',
        key: { name: 'b' },
        artifacts: [{ url: `${BASE}b`, relativePath: 'b', deferredDownload: false }],
      }),
      new DeclarativeContent({
        typeId: 'meta',
        key: { name: 'c' },
        // explicitly deferred: not even an immediate sync would fetch it
        artifacts: [{ url: `${BASE}c`, relativePath: 'c', deferredDownload: true }],
      }),
    ];
    const out = await throughStage(downloaderFor(fetcher, { policy: 'on_demand' }), contents);
    expect(out).toHaveLength(3);
    expect(fetcher.requested).toEqual([`${BASE}b`]);

    const immediate = upstream(['c']);
    await throughStage(downloaderFor(immediate, { policy: 'immediate' }), [
      new DeclarativeContent({ typeId: 'meta', key: { name: 'c' }, artifacts: [{ url: `${BASE}c`, relativePath: 'c', deferredDownload: true }] }),
    ]);
    expect(immediate.requested).toEqual([]);
  });

  it('never runs more downloads at once than its concurrency, and passes every content on', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `f${i}`);
    const fetcher = upstream(names);
    const out = await throughStage(
      downloaderFor(fetcher, { policy: 'immediate' }, 3),
      names.map((n) => fileContent(n, `body of ${n}`)),
    );
    expect(out.map((dc) => dc.key.relativePath).sort()).toEqual([...names].sort());
    expect(fetcher.requested).toHaveLength(40);
    expect(fetcher.maxRunning).toBe(3);
  });

  it('with a fetcher that limits its own transfers, keeps three downloads outstanding per transfer while bodies wait for the disk', async () => {
    const { names, fetcher } = limitedUpstream(30, 2);
    fetcher.holdDisk();
    const run = throughStage(downloaderFor(fetcher, { policy: 'immediate' }, 2), names.map((n) => fileContent(n, `body of ${n}`)));
    await fetcher.waitingForDisk(6);
    await new Promise((resolve) => setTimeout(resolve, 30));
    // 2 transfers allowed × 3: no more downloads start while those 6 wait for the disk
    expect(fetcher.outstanding).toBe(6);
    expect(fetcher.maxTransfers).toBe(2);
    fetcher.releaseDisk();
    const out = await run;
    expect(out.map((dc) => dc.key.relativePath).sort()).toEqual([...names].sort());
    expect(fetcher.maxTransfers).toBe(2);
    expect(fetcher.maxOutstanding).toBe(6);
  });

  it('a fetcher whose transfer limit is above the concurrency gets no more than the concurrency at once', async () => {
    const { names, fetcher } = limitedUpstream(20, 10);
    await throughStage(downloaderFor(fetcher, { policy: 'immediate' }, 3), names.map((n) => fileContent(n, `body of ${n}`)));
    expect(fetcher.maxOutstanding).toBe(3);
  });

  it('keeps downloading while the next stage is busy, up to concurrency + queue capacity + batch size content held', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `f${i}`);
    const fetcher = upstream(names);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    /** Takes one item, then is busy (as an ArtifactSaver writing a batch) until released. */
    class BusyNext extends Stage {
      readonly seen: string[] = [];
      override async run(): Promise<void> {
        for await (const dc of this.items()) {
          if (this.seen.push(String(dc.key.relativePath)) === 1) await released;
        }
      }
    }
    const ctx = { ...sync.context({ fetcher, settings: { policy: 'immediate' }, downloadConcurrency: 3, batchSize: 4 }), queueCapacity: 5 };
    const busy = new BusyNext();
    const run = runPipeline({
      stages: [new ListSource(names.map((n) => fileContent(n, `body of ${n}`))), new ArtifactDownloader(ctx), busy],
      plugin: 'p',
      repository: 'r',
      queueCapacity: 2,
    });
    // 1 taken by the busy stage + 2 in the queue + 3 + 5 + 4 held by the downloader
    await fetcher.started(15);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fetcher.requested).toHaveLength(15);
    release();
    await run;
    expect(busy.seen).toHaveLength(30);
    expect(fetcher.maxRunning).toBe(3);
  });

  it('tries the urls of an artifact in turn (the fetcher gets them all)', async () => {
    const fetcher = sync.fetcher(new Map([['http://mirror-2.test/a', 'body of a']]));
    const dc = new DeclarativeContent({
      typeId: 'doc',
      key: { relativePath: 'a' },
      artifacts: [{ url: ['http://mirror-1.test/a', 'http://mirror-2.test/a'], relativePath: 'a', digests: { sha256: sha256Of('body of a') } }],
    });
    const [out] = await throughStage(downloaderFor(fetcher, { policy: 'immediate' }), [dc]);
    expect(out!.artifacts[0]!.downloaded?.size).toBe('body of a'.length);
  });

  it('a digest mismatch fails the stage with the fetcher’s typed error', async () => {
    const fetcher = sync.fetcher(new Map([[`${BASE}a`, 'bodY of a']]));
    const error = await throughStage(downloaderFor(fetcher, { policy: 'immediate' }), [fileContent('a', 'body of a')]).catch((e) => e);
    expect(error.stage).toBe('ArtifactDownloader');
    expect(error.details.causeCode).toBe(ErrorCodes.DIGEST_MISMATCH);
  });
});

describe('ArtifactSaver', () => {
  it('hands downloaded files to storage in one call per batch and records them as stored', async () => {
    const contents = Array.from({ length: 12 }, (_, i) => fileContent(`f${i}`, `body ${i}`));
    for (const [i, dc] of contents.entries()) {
      if (i % 3 === 0) continue; // not downloaded (deferred)
      dc.artifacts[0]!.downloaded = await sync.download(`body ${i}`);
    }
    const out = await throughStage(new ArtifactSaver(sync.context({ batchSize: 5 })), contents);

    expect(sync.calls.saveArtifacts).toBe(3);
    expect(await sync.artifactCount()).toBe(8);
    for (const [i, dc] of out.entries()) {
      const artifact = dc.artifacts[0]!;
      expect(artifact.downloaded).toBeUndefined();
      expect(artifact.stored?.sha256 ?? null).toBe(i % 3 === 0 ? null : sha256Of(`body ${i}`));
    }
  });
});
