import { ErrorCodes, SyncFailedError } from '@tributary/plugin-api';
import { defaultStages, runPipeline } from '../../src/pipeline/index';
import { PipelineSync } from './pipeline-sync';
import { fileContent, ListSource } from './stage-harness';

describe('pipeline cancellation', () => {
  let sync: PipelineSync;
  beforeEach(async () => {
    sync = await PipelineSync.open();
  });
  afterEach(async () => sync.close());

  it('cancelling mid-download aborts every running download, stores nothing and names ArtifactDownloader', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `f${i}`);
    const fetcher = sync.fetcher(new Map(names.map((n) => [`http://upstream.test/repo/${n}`, `body of ${n}`])));
    fetcher.hold(); // downloads never finish unless aborted
    const ctx = sync.context({ fetcher, settings: { policy: 'immediate' }, downloadConcurrency: 4 });
    const contents = names.map((n) => fileContent(n, `body of ${n}`));

    // one signal for the pipeline and the conduit, as SyncService has
    const run = runPipeline({
      stages: [new ListSource(contents), ...defaultStages(ctx)],
      plugin: 'file',
      repository: 'mirror-1',
      signal: sync.signal,
    });
    await fetcher.started(4);
    // the window is full: no fifth download starts while four are in flight
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fetcher.running).toBe(4);
    sync.abort();

    const error = (await run.catch((e: unknown) => e)) as SyncFailedError;
    expect(error).toBeInstanceOf(SyncFailedError);
    expect(error.code).toBe(ErrorCodes.SYNC_CANCELLED);
    expect(error.stage).toBe('ArtifactDownloader');
    expect(error.repository).toBe('mirror-1');
    expect(fetcher.aborted).toBe(4);
    expect(fetcher.running).toBe(0);
    expect(fetcher.requested).toHaveLength(4);
    expect(await sync.findUnits('file', contents.map((dc) => dc.key))).toEqual([]);
    expect(sync.calls.saveArtifacts).toBeUndefined();
    expect(await sync.artifactCount()).toBe(0);
    expect(await sync.associatedCount()).toBe(0);
  });

  it('a failed download stops its sibling downloads and fails the sync naming ArtifactDownloader', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `f${i}`);
    // f5 is missing upstream: a 404
    const bodies = new Map(names.filter((n) => n !== 'f5').map((n) => [`http://upstream.test/repo/${n}`, `body of ${n}`]));
    const fetcher = sync.fetcher(bodies);
    const ctx = sync.context({ fetcher, settings: { policy: 'immediate', mirror: true }, downloadConcurrency: 3 });
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
    expect(sync.calls.unassociateUnseen).toBeUndefined();
    expect(sync.totals().removed).toBe(0);
  });
});
