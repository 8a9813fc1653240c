import { Stage, type DeclarativeContent, type ExistingUnit, type UnitInput, type UnitRef } from '@tributary/plugin-api';
import { batchSizeOf, FIRST_BATCH_SIZE, type PipelineContext } from './pipeline-context.js';
import type { ResyncService } from '../resync/resync-service.js';
import { expectedUnitInput } from './expected-unit-input.js';

export interface QueryExistingContentsOptions {
  /**
   * Drop content the repository's base version already holds exactly as saving it would store it
   * (see ResyncService); such content is marked seen in the
   * version being written and resolved with its unit, and no later stage sees it. Default true;
   * the default stages turn it off when a plugin inserts a stage after this one, which expects
   * to see every content.
   */
  readonly skipUnchanged?: boolean;
}

/**
 * Looks up, per batch and with one `findUnitsByKey` call per content type in it, which content is
 * already stored. Sets `existing` (stored metadata and files) and `unit` on content that is;
 * ContentSaver then writes only what is new or changed. It asks the conduit key by key
 * (HostConduit.findUnitsByKey), so nothing matches found units back to content by their keys.
 *
 * Before that, in a re-sync, it drops the content that would change nothing (see
 * {@link QueryExistingContentsOptions.skipUnchanged}): a re-sync of an unchanged repository reads
 * the base version's fingerprints once and writes nothing but the seen marks.
 */
export class QueryExistingContents extends Stage {
  private readonly skipUnchanged: boolean;

  constructor(
    private readonly ctx: PipelineContext,
    options: QueryExistingContentsOptions = {},
  ) {
    super('QueryExistingContents');
    this.skipUnchanged = options.skipUnchanged ?? true;
    // not skipping: said before any stage runs, so the sync never starts reading the base version
    if (!this.skipUnchanged) ctx.resync.done();
  }

  override async run(): Promise<void> {
    const unchangedLookup = this.skipUnchanged ? this.ctx.resync : undefined;
    for await (const batch of this.batches(batchSizeOf(this.ctx), { firstBatch: FIRST_BATCH_SIZE })) {
      let live = batch.filter((dc) => !dc.resolved);
      if (unchangedLookup && (await unchangedLookup.mayFindUnchanged())) {
        const before = live.length;
        live = await this.dropUnchanged(unchangedLookup, live);
        // seen marks of one batch are written while the next is looked up
        if (live.length < before) await unchangedLookup.markUnchangedSeen();
      }
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
    if (unchangedLookup) {
      unchangedLookup.done();
      await unchangedLookup.settled();
    }
  }

  /**
   * Resolves the content the base version holds unchanged (to be marked seen); returns the rest.
   * Content that names its upstream record (`source`) is looked up by it when the base version
   * recorded sources: found, it is unchanged; not found, it changed or is new, and goes the long
   * way. Other content is compared by the fingerprint of the row it would write.
   */
  private async dropUnchanged(lookup: ResyncService, live: DeclarativeContent[]): Promise<DeclarativeContent[]> {
    const immediate = this.ctx.settings.policy === 'immediate';
    const bySource = await lookup.hasRecordedSources();
    const sourced: DeclarativeContent[] = [];
    const candidates: DeclarativeContent[] = [];
    const inputs: UnitInput[] = [];
    for (const dc of live) {
      if (dc.existing) continue; // a plugin's stage looked it up already
      if (bySource && dc.source !== undefined) {
        // bytes the plugin fetched itself are stored the long way
        if (!dc.artifacts.some((artifact) => artifact.downloaded)) sourced.push(dc);
        continue;
      }
      const input = expectedUnitInput(dc, immediate);
      if (input === undefined) continue;
      candidates.push(dc);
      inputs.push(input);
    }
    let dropped = 0;
    const resolveFound = (contents: readonly DeclarativeContent[], refs: readonly (UnitRef | undefined)[]) =>
      contents.forEach((dc, i) => {
        const ref = refs[i];
        if (ref === undefined) return;
        dc.resolve(ref);
        dropped++;
      });
    if (sourced.length > 0) {
      resolveFound(sourced, await lookup.findUnchangedBySource(sourced as (DeclarativeContent & { source: string })[]));
    }
    if (inputs.length > 0) {
      resolveFound(candidates, await lookup.findUnchanged(inputs, candidates.map((dc) => dc.source)));
    }
    return dropped === 0 ? live : live.filter((dc) => !dc.resolved);
  }

  private async markExisting(typeId: string, contents: readonly DeclarativeContent[]): Promise<void> {
    const found = await this.ctx.conduit.findUnitsByKey(
      typeId,
      contents.map((dc) => dc.key),
    );
    contents.forEach((dc, i) => {
      const unit = found[i];
      if (unit) markStored(dc, unit);
    });
  }
}

function markStored(dc: DeclarativeContent, unit: ExistingUnit): void {
  dc.existing = unit;
  dc.unit ??= { unitId: unit.unitId, typeId: unit.typeId, key: unit.key };
}
