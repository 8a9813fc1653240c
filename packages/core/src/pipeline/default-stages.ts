import {
  ErrorCodes,
  TributaryError,
  type DefaultStageName,
  type FirstStageContext,
  type Stage,
  type StageInsertion,
} from '@tributary/plugin-api';
import { ArtifactDownloader } from './artifact-downloader.js';
import { ArtifactSaver } from './artifact-saver.js';
import { ContentAssociation } from './content-association.js';
import { ContentSaver } from './content-saver.js';
import { ContentUnassociation } from './content-unassociation.js';
import { batchSizeOf, downloadConcurrencyOf, type PipelineContext } from './pipeline-context.js';
import { QueryExistingArtifacts } from './query-existing-artifacts.js';
import { QueryExistingContents } from './query-existing-contents.js';
import { RemoteArtifactSaver } from './remote-artifact-saver.js';
import { ResolveContentFutures } from './resolve-content-futures.js';

const DEFAULT_STAGE_NAMES: readonly DefaultStageName[] = [
  'QueryExistingContents',
  'QueryExistingArtifacts',
  'ArtifactDownloader',
  'ArtifactSaver',
  'ContentSaver',
  'RemoteArtifactSaver',
  'ResolveContentFutures',
  'ContentAssociation',
  'ContentUnassociation',
];

/**
 * The stages that follow an importer's first stage, in the seed's order: QueryExistingContents,
 * QueryExistingArtifacts, ArtifactDownloader, ArtifactSaver, ContentSaver, RemoteArtifactSaver,
 * ResolveContentFutures, ContentAssociation, and ContentUnassociation when `settings.mirror`.
 *
 * A plugin's `insertions` go right before or after the default stage they name, in the order given
 * (two insertions after the same stage keep their order). An insertion anchored on
 * ContentUnassociation in a sync that does not mirror goes at the end. `firstStageCtx` is what
 * each insertion's `create` receives; it is required when there are insertions.
 *
 * @example
 * ```ts
 * const stages = [firstStage, ...defaultStages(ctx, plugin.stages, firstStageCtx)];
 * await runPipeline({ stages, plugin: plugin.name, repository: 'epel', signal });
 * ```
 */
export function defaultStages(
  ctx: PipelineContext,
  insertions: readonly StageInsertion[] = [],
  firstStageCtx?: FirstStageContext,
): Stage[] {
  // refuse bad settings now rather than when a stage first reads them
  batchSizeOf(ctx);
  downloadConcurrencyOf(ctx);
  const defaults = new Map<DefaultStageName, Stage>([
    // a stage inserted after it would miss the content it drops as unchanged
    ['QueryExistingContents', new QueryExistingContents(ctx, { skipUnchanged: insertions.every((i) => i.before === 'QueryExistingContents') })],
    ['QueryExistingArtifacts', new QueryExistingArtifacts(ctx)],
    ['ArtifactDownloader', new ArtifactDownloader(ctx)],
    ['ArtifactSaver', new ArtifactSaver(ctx)],
    ['ContentSaver', new ContentSaver(ctx)],
    ['RemoteArtifactSaver', new RemoteArtifactSaver(ctx)],
    ['ResolveContentFutures', new ResolveContentFutures(ctx)],
    ['ContentAssociation', new ContentAssociation(ctx)],
  ]);
  if (ctx.settings.mirror) defaults.set('ContentUnassociation', new ContentUnassociation(ctx));
  const stages = [...defaults.values()];
  if (insertions.length === 0) return stages;
  if (!firstStageCtx) {
    throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, 'defaultStages needs the first-stage context to create inserted stages');
  }

  const placedAfter = new Map<Stage, number>();
  insertions.forEach((insertion, index) => {
    const anchorName = anchorOf(insertion, index);
    const stage = createStage(insertion, index, firstStageCtx);
    const anchor = defaults.get(anchorName);
    if (!anchor) {
      stages.push(stage); // ContentUnassociation, absent without mirror: it would have been last
      return;
    }
    const at = stages.indexOf(anchor);
    if (insertion.before !== undefined) {
      stages.splice(at, 0, stage);
    } else {
      const already = placedAfter.get(anchor) ?? 0;
      stages.splice(at + 1 + already, 0, stage);
      placedAfter.set(anchor, already + 1);
    }
  });
  return stages;
}

function anchorOf(insertion: StageInsertion, index: number): DefaultStageName {
  const hasBefore = insertion.before !== undefined;
  const hasAfter = insertion.after !== undefined;
  if (hasBefore === hasAfter) {
    throw new TributaryError(
      ErrorCodes.PLUGIN_DEFINITION,
      `stage insertion #${index + 1} must name exactly one of 'before' or 'after' (found ${hasBefore ? 'both' : 'neither'})`,
      { details: { insertion: index } },
    );
  }
  const anchor = (hasBefore ? insertion.before : insertion.after) as DefaultStageName;
  if (!DEFAULT_STAGE_NAMES.includes(anchor)) {
    throw new TributaryError(
      ErrorCodes.PLUGIN_DEFINITION,
      `stage insertion #${index + 1} names unknown stage ${JSON.stringify(anchor)}; expected one of ${DEFAULT_STAGE_NAMES.join(', ')}`,
      { details: { insertion: index, anchor } },
    );
  }
  return anchor;
}

function createStage(insertion: StageInsertion, index: number, ctx: FirstStageContext): Stage {
  if (typeof insertion.create !== 'function') {
    throw new TributaryError(ErrorCodes.PLUGIN_DEFINITION, `stage insertion #${index + 1} has no create() function`, {
      details: { insertion: index },
    });
  }
  const stage: unknown = insertion.create(ctx);
  const looksLikeStage =
    typeof stage === 'object' &&
    stage !== null &&
    typeof (stage as Stage).run === 'function' &&
    typeof (stage as Stage).connect === 'function';
  if (!looksLikeStage) {
    throw new TributaryError(
      ErrorCodes.PLUGIN_MISBEHAVED,
      `stage insertion #${index + 1} create() did not return a Stage (subclass Stage from @tributary/plugin-api)`,
      { details: { insertion: index } },
    );
  }
  return stage as Stage;
}
