import { Stage, type DeclarativeContent, type ExistingUnit } from '@tributary/plugin-api';
import { batchSizeOf, type PipelineContext } from './pipeline-context.js';
import { unitKeyText } from './unit-key-text.js';
import { canFindUnitsByKey, type UnitsByKeyLookup } from './units-by-key.js';

/**
 * Looks up, per batch and with one `findUnits` call per content type in it, which content is
 * already stored. Sets `existing` (stored metadata and files) and `unit` on content that is;
 * ContentSaver then writes only what is new or changed. With a conduit that can answer key by key
 * ({@link UnitsByKeyLookup}, as the host's does) it asks that way instead of matching found
 * units back to content by their keys.
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
    const conduit = this.ctx.conduit;
    const keys = contents.map((dc) => dc.key);
    if (canFindUnitsByKey(conduit)) {
      const found = await conduit.findUnitsByKey(typeId, keys);
      contents.forEach((dc, i) => {
        const unit = found[i];
        if (unit) markStored(dc, unit);
      });
      return;
    }
    const found = await conduit.findUnits(typeId, keys);
    if (found.length === 0) return; // a first sync: nothing to match
    const byKey = new Map<string, ExistingUnit>();
    for (const unit of found) byKey.set(unitKeyText(unit.typeId, unit.key), unit);
    for (const dc of contents) {
      const unit = byKey.get(unitKeyText(typeId, dc.key));
      if (unit) markStored(dc, unit);
    }
  }
}

function markStored(dc: DeclarativeContent, unit: ExistingUnit): void {
  dc.existing = unit;
  dc.unit ??= { unitId: unit.unitId, typeId: unit.typeId, key: unit.key };
}
