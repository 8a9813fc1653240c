import { ErrorCodes, SyncFailedError } from '@tributary/plugin-api';
import { defaultStages, runPipeline } from '../../src/pipeline/index';
import { InMemoryConduit } from './in-memory-conduit';
import { MemoryFetcher } from './memory-fetcher';
import { contextFor, fileContent, ListSource } from './stage-harness';

describe('pipeline cancellation', () => {
  it('cancelling mid-download aborts every running download, stores nothing and names ArtifactDownloader', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `f${i}`);
    const fetcher = new MemoryFetcher(new Map(names.map((n) => [`http://upstream.test/repo/${n}`, `body of ${n}`])));
    fetcher.hold(); // downloads never finish unless aborted
    const conduit = new InMemoryConduit();
    const ctx = contextFor(conduit, { fetcher, settings: { policy: 'immediate' }, downloadConcurrency: 4 });
    const controller = new AbortController();

    const run = runPipeline({
      stages: [new ListSource(names.map((n) => fileContent(n, `body of ${n}`))), ...defaultStages(ctx)],
      plugin: 'file',
      repository: 'mirror-1',
      signal: controller.signal,
    });
    await fetcher.started(4);
    // the window is full: no fifth download starts while four are in flight
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fetcher.running).toBe(4);
    controller.abort();

    const error = (await run.catch((e: unknown) => e)) as SyncFailedError;
    expect(error).toBeInstanceOf(SyncFailedError);
    expect(error.code).toBe(ErrorCodes.SYNC_CANCELLED);
    expect(error.stage).toBe('ArtifactDownloader');
    expect(error.repository).toBe('mirror-1');
    expect(fetcher.aborted).toBe(4);
    expect(fetcher.running).toBe(0);
    expect(fetcher.requested).toHaveLength(4);
    expect(conduit.units.size).toBe(0);
    expect(conduit.calls.saveArtifacts).toBeUndefined();
    expect(conduit.associated.size).toBe(0);
  });

  it('a failed download stops its sibling downloads and fails the sync naming ArtifactDownloader', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `f${i}`);
    // f5 is missing upstream: a 404
    const bodies = new Map(names.filter((n) => n !== 'f5').map((n) => [`http://upstream.test/repo/${n}`, `body of ${n}`]));
    const fetcher = new MemoryFetcher(bodies);
    const conduit = new InMemoryConduit();
    const ctx = contextFor(conduit, { fetcher, settings: { policy: 'immediate', mirror: true }, downloadConcurrency: 3 });
    const error = (await runPipeline({
      stages: [new ListSource(names.map((n) => fileContent(n, `body of ${n}`))), ...defaultStages(ctx)],
      plugin: 'file',
      repository: 'r',
    }).catch((e: unknown) => e)) as SyncFailedError;
    expect(error.code).toBe(ErrorCodes.SYNC_FAILED);
    expect(error.stage).toBe('ArtifactDownloader');
    expect(error.details.causeCode).toBe(ErrorCodes.HTTP_STATUS);
    expect(fetcher.running).toBe(0);
    // a mirror sync that failed never removes anything
    expect(conduit.calls.unassociateUnseen).toBeUndefined();
  });
});
