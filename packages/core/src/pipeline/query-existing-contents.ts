import { Stage, type DeclarativeContent, type ExistingUnit } from '@tributary/plugin-api';
import { batchSizeOf, type PipelineContext } from './pipeline-context.js';
import { unitKeyText } from './unit-key-text.js';

/**
 * Looks up, per batch and with one `findUnits` call per content type in it, which content is
 * already stored. Sets `existing` (stored metadata and files) and `unit` on content that is;
 * ContentSaver then writes only what is new or changed.
 */
export class QueryExistingContents extends Stage {
  constructor(private readonly ctx: PipelineContext) {
    super('QueryExistingContents');
  }

  override async run(): Promise<void> {
    for await (const batch of this.batches(batchSizeOf(this.ctx))) {
      const live = batch.filter((dc) => !dc.resolved);
      const byType = new Map<string, DeclarativeContent[]>();
      for (const dc of live) {
        if (dc.existing) continue;
        const group = byType.get(dc.typeId);
        if (group) group.push(dc);
        else byType.set(dc.typeId, [dc]);
      }
      for (const [typeId, contents] of byType) await this.markExisting(typeId, contents);
      await this.putAll(live);
    }
  }

  private async markExisting(typeId: string, contents: readonly DeclarativeContent[]): Promise<void> {
    const found = await this.ctx.conduit.findUnits(typeId, contents.map((dc) => dc.key));
    if (found.length === 0) return; // a first sync: nothing to match
    const byKey = new Map<string, ExistingUnit>();
    for (const unit of found) byKey.set(unitKeyText(unit.typeId, unit.key), unit);
    for (const dc of contents) {
      const unit = byKey.get(unitKeyText(typeId, dc.key));
      if (!unit) continue;
      dc.existing = unit;
      dc.unit ??= { unitId: unit.unitId, typeId: unit.typeId, key: unit.key };
    }
  }
}
