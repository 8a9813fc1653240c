import { conformanceFailure } from '../conformance-failure.js';
import type { ConformanceContext } from '../conformance-context.js';

const LARGE_BATCH = 1000;

/**
 * Rule `conduit-batched`: the same sync is run on a host with batch size 1 and on one with batch
 * size 1000. When the importer hands units to the conduit in arrays, every unit beyond the first
 * costs at least one more store round trip at batch size 1 than at 1000; an importer that calls the
 * conduit once per unit costs the same on both, however big the batches may be.
 */
export async function checkConduitBatched(ctx: ConformanceContext): Promise<void> {
  const rule = 'conduit-batched';
  const survey = await ctx.survey('initial', rule);
  const units = survey.units.size;
  if (units < 2) {
    conformanceFailure(rule, `the fixture's initial state has ${units} unit(s); batching can only be observed with at least 2 (a handful is better)`);
  }
  const roundTrips = async (batchSize: number): Promise<number> =>
    ctx.withScope(async (scope) => {
      const testHost = await scope.host({ batchSize });
      const upstream = await scope.upstream('initial');
      await testHost.host.createRepository({ name: 'batched' });
      const before = testHost.host.store.stats.roundTrips;
      await ctx.syncExpectingSuccess(rule, `an immediate sync with store batch size ${batchSize}`, testHost, 'batched', upstream);
      return testHost.host.store.stats.roundTrips - before;
    });
  const perUnit = await roundTrips(1);
  const batched = await roundTrips(LARGE_BATCH);
  const saved = perUnit - batched;
  if (saved < units - 1) {
    conformanceFailure(
      rule,
      `syncing ${units} units took ${perUnit} store round trips with batch size 1 and ${batched} with batch size ${LARGE_BATCH}: ` +
        `larger batches should have saved at least ${units - 1}, but saved ${saved}.\n` +
        'The importer (or one of its stages) calls the conduit once per unit. Collect units into arrays and call saveUnits / addOrUpdateUnits / findUnits once per batch ' +
        '(conduit.batchSize is the host\'s hint), or emit DeclarativeContent and let the default stages batch',
    );
  }
}
