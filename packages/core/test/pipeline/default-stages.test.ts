import { ErrorCodes, isTributaryError, Stage, type FirstStageContext, type StageInsertion } from '@tributary/plugin-api';
import { defaultStages } from '../../src/pipeline/index';
import { PipelineSync, type ContextOptions } from './pipeline-sync';

const SEED_ORDER = [
  'QueryExistingContents',
  'QueryExistingArtifacts',
  'ArtifactDownloader',
  'ArtifactSaver',
  'ContentSaver',
  'RemoteArtifactSaver',
  'ResolveContentFutures',
  'ContentAssociation',
];

class Named extends Stage {
  override async run(): Promise<void> {
    for await (const dc of this.items()) await this.put(dc);
  }
}

const insert = (where: Partial<Pick<StageInsertion, 'before' | 'after'>>, name: string): StageInsertion => ({
  ...where,
  create: () => new Named(name),
});

const firstStageCtx = {} as FirstStageContext;

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('defaultStages', () => {
  let sync: PipelineSync;
  beforeAll(async () => {
    sync = await PipelineSync.open();
  });
  afterAll(async () => sync.close());
  /** A context of the sync under way (RepoConduit and ResyncService over SQLite). */
  const contextFor = (options?: ContextOptions) => sync.context(options);

  it('follows the seed’s order, with ContentUnassociation last only when mirroring', () => {
    expect(defaultStages(contextFor()).map((s) => s.name)).toEqual(SEED_ORDER);
    expect(defaultStages(contextFor({ settings: { mirror: true } })).map((s) => s.name)).toEqual([
      ...SEED_ORDER,
      'ContentUnassociation',
    ]);
  });

  it('places plugin stages right before or after the stage they name, keeping their order', () => {
    const insertions = [
      insert({ after: 'QueryExistingContents' }, 'AfterQuery1'),
      insert({ before: 'ArtifactDownloader' }, 'BeforeDownload1'),
      insert({ after: 'QueryExistingContents' }, 'AfterQuery2'),
      insert({ before: 'ArtifactDownloader' }, 'BeforeDownload2'),
      insert({ after: 'ContentAssociation' }, 'Last'),
    ];
    const names = defaultStages(contextFor(), insertions, firstStageCtx).map((s) => s.name);
    expect(names).toEqual([
      'QueryExistingContents',
      'AfterQuery1',
      'AfterQuery2',
      'QueryExistingArtifacts',
      'BeforeDownload1',
      'BeforeDownload2',
      'ArtifactDownloader',
      'ArtifactSaver',
      'ContentSaver',
      'RemoteArtifactSaver',
      'ResolveContentFutures',
      'ContentAssociation',
      'Last',
    ]);
  });

  it('an insertion anchored on ContentUnassociation goes at the end when the sync does not mirror', () => {
    const insertions = [insert({ before: 'ContentUnassociation' }, 'Cleanup')];
    expect(defaultStages(contextFor(), insertions, firstStageCtx).map((s) => s.name).at(-1)).toBe('Cleanup');
    const mirrored = defaultStages(contextFor({ settings: { mirror: true } }), insertions, firstStageCtx);
    expect(mirrored.map((s) => s.name).slice(-2)).toEqual(['Cleanup', 'ContentUnassociation']);
  });

  it('gives each insertion the first-stage context', () => {
    const seen: unknown[] = [];
    defaultStages(contextFor(), [{ after: 'ContentSaver', create: (ctx) => (seen.push(ctx), new Named('X')) }], firstStageCtx);
    expect(seen).toEqual([firstStageCtx]);
  });

  it('refuses insertions that name no stage, both anchors, an unknown stage, or create something else', () => {
    const ctx = contextFor();
    const cases: [StageInsertion, string][] = [
      [{ create: () => new Named('X') }, ErrorCodes.PLUGIN_DEFINITION],
      [{ before: 'ContentSaver', after: 'ContentSaver', create: () => new Named('X') }, ErrorCodes.PLUGIN_DEFINITION],
      [{ before: 'Downloader' as never, create: () => new Named('X') }, ErrorCodes.PLUGIN_DEFINITION],
      [{ before: 'ContentSaver', create: () => ({ run: 1 }) as never }, ErrorCodes.PLUGIN_MISBEHAVED],
    ];
    for (const [insertion, code] of cases) {
      const error = thrown(() => defaultStages(ctx, [insertion], firstStageCtx));
      expect(isTributaryError(error, code as never)).toBe(true);
    }
    expect(isTributaryError(thrown(() => defaultStages(ctx, [insert({ after: 'ContentSaver' }, 'X')])), ErrorCodes.INVALID_ARGUMENT)).toBe(true);
  });

  it('refuses a batch size or download concurrency that is not a positive integer', () => {
    for (const bad of [{ batchSize: 0 }, { downloadConcurrency: 1.5 }]) {
      const error = thrown(() => defaultStages({ ...contextFor(), ...bad }));
      expect(isTributaryError(error, ErrorCodes.INVALID_ARGUMENT)).toBe(true);
    }
  });
});
