import { Stage, type DeclarativeArtifact, type DeclarativeContent, type RemoteArtifactInput } from '@tributary/plugin-api';
import { batchSizeOf, type PipelineContext } from './pipeline-context.js';
import { takeRemoteSourcesSaved } from './remote-sources-saved.js';

/**
 * Records, one `saveRemoteArtifacts` call per batch, where every file of every stored unit can be
 * fetched from and what it must match (urls, expected size and digests). An `on_demand` sync relies
 * on these rows to serve files it did not download; an `immediate` one keeps them so a lost file can
 * be fetched again. ContentSaver already wrote them for the units it wrote; for the rest (stored
 * and unchanged) a source already recorded exactly so, as the store reported with the unit, is not
 * written again, so a re-sync of an unchanged repository writes no remote sources at all.
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
        if (takeRemoteSourcesSaved(this.ctx.conduit, dc)) continue;
        for (const artifact of dc.artifacts) {
          if (artifact.urls.length === 0 || this.alreadyRecorded(dc, artifact)) continue;
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
      await this.putAll(live);
    }
  }

  /** The store returned this artifact's source for this upstream, with the same urls, size and digests. */
  private alreadyRecorded(dc: DeclarativeContent, artifact: DeclarativeArtifact): boolean {
    const recorded = dc.existing?.remotes?.find(
      (remote) => remote.relativePath === artifact.relativePath && remote.remote === this.ctx.conduit.remoteName,
    );
    if (recorded === undefined) return false;
    if (recorded.size !== (artifact.size ?? null)) return false;
    if (recorded.urls.length !== artifact.urls.length) return false;
    for (let i = 0; i < artifact.urls.length; i++) if (recorded.urls[i] !== artifact.urls[i]) return false;
    // loops rather than entry arrays: this runs for every file of a re-sync
    const declared = artifact.digests as Record<string, string | undefined>;
    const known = recorded.digests as Record<string, string | undefined>;
    const algorithms = Object.keys(declared);
    let knownCount = 0;
    for (const algorithm in known) if (Object.prototype.hasOwnProperty.call(known, algorithm)) knownCount++;
    if (algorithms.length !== knownCount) return false;
    for (const algorithm of algorithms) if (known[algorithm] !== declared[algorithm]?.toLowerCase()) return false;
    return true;
  }
}
