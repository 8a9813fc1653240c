import { Stage, type RemoteArtifactInput } from '@tributary/plugin-api';
import { batchSizeOf, type PipelineContext } from './pipeline-context.js';

/**
 * Records, one `saveRemoteArtifacts` call per batch, where every file of every stored unit can be
 * fetched from and what it must match (urls, expected size and digests). An `on_demand` sync relies
 * on these rows to serve files it did not download; an `immediate` one keeps them so a lost file can
 * be fetched again. The conduit upserts, so a row that is already identical costs no change.
 */
export class RemoteArtifactSaver extends Stage {
  constructor(private readonly ctx: PipelineContext) {
    super('RemoteArtifactSaver');
  }

  override async run(): Promise<void> {
    for await (const batch of this.batches(batchSizeOf(this.ctx))) {
      const live = batch.filter((dc) => !dc.resolved);
      const remotes: RemoteArtifactInput[] = [];
      for (const dc of live) {
        if (!dc.unit) continue; // not stored: ContentAssociation reports it
        for (const artifact of dc.artifacts) {
          if (artifact.urls.length === 0) continue;
          remotes.push({
            unitId: dc.unit.unitId,
            relativePath: artifact.relativePath,
            urls: artifact.urls,
            ...(artifact.size !== undefined ? { size: artifact.size } : {}),
            digests: artifact.digests,
          });
        }
      }
      if (remotes.length > 0) await this.ctx.conduit.saveRemoteArtifacts(remotes);
      for (const dc of live) await this.put(dc);
    }
  }
}
