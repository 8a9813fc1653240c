import { conformanceFailure } from '../conformance-failure.js';
import type { ConformanceContext } from '../conformance-context.js';
import { listUnits, missingFrom, unitSet } from '../unit-snapshot.js';

/**
 * Rule `early-finish-sees-changes`: the kit forces its other syncs, so an early finish never hides
 * what they do; here it does not. After a sync of the initial state (same settings: a fingerprint
 * is compared only with one recorded under the same settings), a sync (not forced, mirror) of
 * the changed state must not finish early and must bring the repository to the changed state's units.
 */
export async function checkEarlyFinishSeesChanges(ctx: ConformanceContext): Promise<void> {
  const rule = 'early-finish-sees-changes';
  const changed = await ctx.survey('changed', rule);
  const initial = await ctx.state('initial');
  const changedPaths = [...changed.state.files.keys()].filter((p) => initial.sha256.get(p) !== changed.state.sha256.get(p));
  await ctx.withScope(async (scope) => {
    const testHost = await scope.host();
    const upstream = await scope.upstream('initial');
    await ctx.syncExpectingSuccess(rule, "a sync (not forced, mirror) of the fixture's initial state", testHost, 'early', upstream, { force: false, mirror: true });
    upstream.serve(changed.state);
    const outcome = await ctx.syncExpectingSuccess(rule, 'a sync (not forced, mirror) of the changed state', testHost, 'early', upstream, { force: false, mirror: true });
    if (outcome.finishedEarly !== undefined) {
      conformanceFailure(
        rule,
        `a sync that was not forced finished early ('${outcome.finishedEarly}') although upstream changed (${listUnits(changedPaths, 6)}): the repository keeps the old state and the sync reports success.\n` +
          'The value given to finishEarlyIfUnchanged(value, reason) must change whenever anything units come from changes: cover every index page ' +
          '(or each page\'s digest), not only the first page or the root',
      );
    }
    const after = unitSet(await testHost.units('early'));
    const wrong = [...missingFrom(changed.units, after), ...missingFrom(after, changed.units)];
    if (wrong.length > 0) {
      conformanceFailure(rule, `after a sync (not forced, mirror) of the changed state the repository differs from what a forced sync gives (differing: ${listUnits(wrong)})`);
    }
  });
}
