import type { DeclarativeContent, DownloadPolicy } from '@tributary/plugin-api';
import { defaultStages, runPipeline } from '../../src/pipeline/index';
import { InMemoryConduit } from './in-memory-conduit';
import { MemoryFetcher, sha256Of } from './memory-fetcher';
import { contextFor, fileContent, ListSource } from './stage-harness';

const BASE = 'http://upstream.test/repo/';

/** Upstream as name → body; every sync reads it afresh, as a first stage would. */
type Upstream = Record<string, string>;

async function sync(conduit: InMemoryConduit, upstream: Upstream, policy: DownloadPolicy, mirror = false): Promise<MemoryFetcher> {
  const fetcher = new MemoryFetcher(new Map(Object.entries(upstream).map(([n, body]) => [`${BASE}${n}`, body])));
  const contents: DeclarativeContent[] = Object.entries(upstream).map(([n, body]) => fileContent(n, body));
  const ctx = contextFor(conduit, { fetcher, settings: { policy, mirror }, batchSize: 4 });
  await runPipeline({ stages: [new ListSource(contents), ...defaultStages(ctx)], plugin: 'file', repository: 'r' });
  return fetcher;
}

const upstreamOf = (count: number): Upstream => Object.fromEntries(Array.from({ length: count }, (_, i) => [`f${i}`, `body of f${i}`]));

describe('the default pipeline (over the in-memory conduit double)', () => {
  it('immediate: downloads and stores every file, records a remote for each, and associates every unit', async () => {
    const conduit = new InMemoryConduit();
    const fetcher = await sync(conduit, upstreamOf(10), 'immediate');
    expect(fetcher.requested).toHaveLength(10);
    expect(conduit.artifacts.size).toBe(10);
    expect(conduit.associated.size).toBe(10);
    expect(conduit.remotes.size).toBe(10);
    const f3 = conduit.artifactsOf('file', { relativePath: 'f3', sha256: sha256Of('body of f3') });
    expect(f3).toEqual({ f3: sha256Of('body of f3') });
  });

  it('on_demand: downloads nothing and records a remote artifact with expected digests for every file', async () => {
    const conduit = new InMemoryConduit();
    const fetcher = await sync(conduit, upstreamOf(10), 'on_demand');
    expect(fetcher.requested).toHaveLength(0);
    expect(conduit.artifacts.size).toBe(0);
    expect(conduit.associated.size).toBe(10);
    const key = { relativePath: 'f3', sha256: sha256Of('body of f3') };
    expect(conduit.artifactsOf('file', key)).toEqual({ f3: null });
    expect(conduit.remotes.get(`${InMemoryConduit.unitId('file', key)}|f3`)).toMatchObject({
      urls: [`${BASE}f3`],
      size: 'body of f3'.length,
      digests: { sha256: sha256Of('body of f3') },
    });
  });

  it('a re-sync with nothing changed downloads and writes no unit again', async () => {
    const conduit = new InMemoryConduit();
    await sync(conduit, upstreamOf(10), 'immediate');
    conduit.commit();
    const writesBefore = conduit.writtenPerCall.reduce((a, b) => a + b, 0);
    const fetcher = await sync(conduit, upstreamOf(10), 'immediate');
    expect(fetcher.requested).toHaveLength(0);
    expect(conduit.writtenPerCall.reduce((a, b) => a + b, 0)).toBe(writesBefore);
    expect(conduit.associated.size).toBe(10);
  });

  it('an immediate sync after an on_demand one downloads the files and records their bytes', async () => {
    const conduit = new InMemoryConduit();
    await sync(conduit, upstreamOf(5), 'on_demand');
    conduit.commit();
    const fetcher = await sync(conduit, upstreamOf(5), 'immediate');
    expect(fetcher.requested).toHaveLength(5);
    expect(conduit.artifactsOf('file', { relativePath: 'f0', sha256: sha256Of('body of f0') })).toEqual({ f0: sha256Of('body of f0') });
  });

  it('mirror: units gone upstream are removed; without mirror they stay', async () => {
    const conduit = new InMemoryConduit();
    await sync(conduit, upstreamOf(6), 'on_demand');
    conduit.commit();
    const shrunk = upstreamOf(4);
    await sync(conduit, shrunk, 'on_demand');
    expect(conduit.calls.unassociateUnseen).toBeUndefined();
    conduit.associated.clear();
    await sync(conduit, shrunk, 'on_demand', true);
    expect(conduit.calls.unassociateUnseen).toBe(1);
    expect(conduit.removed).toBe(2);
  });
});
