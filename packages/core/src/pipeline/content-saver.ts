import { ErrorCodes, Stage, TributaryError, type DeclarativeContent } from '@tributary/plugin-api';
import { sameMetadata } from './metadata-equality.js';
import { unitInputOf } from './unit-input.js';
import { markRemoteSourcesSaved } from './remote-sources-saved.js';
import { batchSizeOf, type PipelineContext } from './pipeline-context.js';

/**
 * Stores new and changed units, one `addOrUpdateUnits` call per batch, and sets `unit` on each.
 * A unit's files are recorded by relative path with the sha256 of stored bytes, or without bytes
 * while they are deferred. Where to fetch each file is written with the unit it belongs to, in the
 * same row, which spares RemoteArtifactSaver a second write of every new unit. Content already
 * stored with the same metadata and the same files is not written again (RemoteArtifactSaver then
 * checks its remote sources); changed content is marked `updated` (the conduit counts updates for
 * the report itself).
 */
export class ContentSaver extends Stage {
  constructor(private readonly ctx: PipelineContext) {
    super('ContentSaver');
  }

  override async run(): Promise<void> {
    for await (const batch of this.batches(batchSizeOf(this.ctx))) {
      const live = batch.filter((dc) => !dc.resolved);
      const toSave = live.filter((dc) => !unchanged(dc));
      if (toSave.length > 0) {
        const refs = await this.ctx.conduit.addOrUpdateUnits(toSave.map(unitInputOf));
        if (refs.length !== toSave.length) {
          throw new TributaryError(
            ErrorCodes.STORE,
            `addOrUpdateUnits returned ${refs.length} unit refs for ${toSave.length} units`,
          );
        }
        toSave.forEach((dc, i) => {
          dc.unit = refs[i];
          markRemoteSourcesSaved(this.ctx.conduit, dc);
          dc.updated = dc.existing !== undefined;
          // the conduit adopted downloaded files handed over as `file`
          for (const artifact of dc.artifacts) if (!artifact.stored) artifact.downloaded = undefined;
        });
      }
      await this.putAll(live);
    }
  }
}

/** Stored already, with the same metadata and the same bytes (or lack of them) at every declared path. */
function unchanged(dc: DeclarativeContent): boolean {
  const existing = dc.existing;
  if (!existing || !dc.unit) return false;
  if (!sameMetadata(existing.metadata, dc.metadata)) return false;
  for (const artifact of dc.artifacts) {
    if (artifact.downloaded && !artifact.stored) return false;
    // a unit has few files: a search beats building a map for every unit of a re-sync
    const stored = existing.artifacts.find((a) => a.relativePath === artifact.relativePath);
    if (stored === undefined || stored.sha256 !== (artifact.stored?.sha256 ?? null)) return false;
  }
  return true;
}
