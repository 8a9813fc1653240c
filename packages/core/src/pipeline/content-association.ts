import { ErrorCodes, Stage, TributaryError, type UnitRef } from '@tributary/plugin-api';
import { batchSizeOf, type PipelineContext } from './pipeline-context.js';

/**
 * Adds the stored units to the repository's in-progress version, one `associateUnits` call per
 * batch, recording each content's `source` with it (HostConduit.associateUnitsFrom). It comes after ResolveContentFutures, so the content it sees is
 * resolved by design and is not dropped for it.
 */
export class ContentAssociation extends Stage {
  constructor(private readonly ctx: PipelineContext) {
    super('ContentAssociation');
  }

  override async run(): Promise<void> {
    for await (const batch of this.batches(batchSizeOf(this.ctx))) {
      const refs: UnitRef[] = batch.map((dc) => {
        if (!dc.unit) {
          throw new TributaryError(
            ErrorCodes.PLUGIN_MISBEHAVED,
            `content of type '${dc.typeId}' with key ${JSON.stringify(dc.key)} reached ContentAssociation without being stored; ` +
              'was ContentSaver removed or bypassed?',
            { details: { typeId: dc.typeId, key: dc.key } },
          );
        }
        return { unitId: dc.unit.unitId, typeId: dc.unit.typeId, key: dc.unit.key };
      });
      const conduit = this.ctx.conduit;
      if (refs.length > 0) {
        if (batch.some((dc) => dc.source !== undefined)) {
          await conduit.associateUnitsFrom(refs, batch.map((dc) => dc.source));
        } else await conduit.associateUnits(refs);
      }
      await this.putAll(batch);
    }
  }
}
