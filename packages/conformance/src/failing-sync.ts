import type { SyncOutcome } from '@tributary/core';
import { ErrorCodes, isTributaryError } from '@tributary/plugin-api';
import { conformanceFailure } from './conformance-failure.js';
import type { CheckScope, ConformanceContext, StateName } from './conformance-context.js';
import type { ConformanceRule } from './conformance-rules.js';
import { describeError } from './error-words.js';
import type { FixtureUpstream } from './fixture-upstream.js';
import type { TestHost } from './test-host.js';
import { describeSnapshotDifferences, listUnits, missingFrom, unitSet, type UnitSet } from './unit-snapshot.js';

/** Which way a failing sync goes, and the artifact files it will fetch that the kit can break. */
export interface FailingSyncPlan {
  readonly base: StateName;
  readonly target: StateName;
  /** Served paths of artifacts the target state has and the base state's sync did not store. */
  readonly paths: readonly string[];
}

/**
 * Picks the artifact files a failing sync will request: those of the changed state (or, failing
 * that, the initial state) whose bytes the other state does not have, or the author's `faultPath` when it is an artifact file (an index or metadata file named there
 * is the target of the index rules instead).
 */
export async function planFailingSync(ctx: ConformanceContext, rule: ConformanceRule): Promise<FailingSyncPlan> {
  const faultPath = ctx.options.faultPath?.replace(/^\/+/, '');
  if (faultPath !== undefined) {
    if (!(await ctx.state('changed')).files.has(faultPath)) {
      conformanceFailure(rule, `the faultPath '${faultPath}' given to the kit is not a file of the fixture's changed state`);
    }
    // a page or metadata file named as faultPath is what the index rules break; corrupting it here
    // would fail a correct importer on a digest it cannot have
    if ((await ctx.survey('changed', rule)).artifactPaths.has(faultPath)) return { base: 'initial', target: 'changed', paths: [faultPath] };
  }
  const initial = await ctx.survey('initial', rule);
  const changed = await ctx.survey('changed', rule);
  const newIn = (state: typeof initial, other: typeof initial): string[] =>
    [...state.artifactPaths].filter(([, sha256]) => !other.artifactDigests.has(sha256)).map(([path]) => path);
  const toChanged = newIn(changed, initial);
  if (toChanged.length > 0) return { base: 'initial', target: 'changed', paths: toChanged };
  const toInitial = newIn(initial, changed);
  if (toInitial.length > 0) return { base: 'changed', target: 'initial', paths: toInitial };
  return conformanceFailure(
    rule,
    'the kit found no artifact file that one fixture state has and the other lacks, so it cannot make a sync fail midway: ' +
      'add a unit with a new file in the changed state, or name one with the faultPath option',
  );
}

/** A repository synced to the plan's base state, and what it held before the failing sync. */
export interface GuardedRepository {
  readonly testHost: TestHost;
  readonly upstream: FixtureUpstream;
  readonly before: UnitSet;
  readonly version: number;
}

export const GUARDED = 'guarded';

/** Syncs repository 'guarded' to the base state and remembers it; then serves the target state. */
export async function prepareGuardedRepository(ctx: ConformanceContext, scope: CheckScope, plan: FailingSyncPlan, rule: ConformanceRule, testHost?: TestHost): Promise<GuardedRepository> {
  const host = testHost ?? (await scope.host());
  const upstream = await scope.upstream(plan.base);
  const first = await ctx.syncExpectingSuccess(rule, `the sync of the fixture's ${plan.base} state`, host, GUARDED, upstream);
  const before = unitSet(await host.units(GUARDED));
  upstream.serve(await ctx.state(plan.target));
  return { testHost: host, upstream, before, version: first.version };
}

/**
 * Checks what a failed sync left: a typed error of `code`, the repository at its previous version
 * with the same units, no temporary files, a history record saying so; then that the next sync,
 * with upstream healthy again, succeeds.
 */
export async function expectIntactAfterFailure(
  ctx: ConformanceContext,
  rule: ConformanceRule,
  guarded: GuardedRepository,
  failure: { error: unknown; code: typeof ErrorCodes.SYNC_FAILED | typeof ErrorCodes.SYNC_CANCELLED; what: string },
): Promise<void> {
  const { testHost, before, version, upstream } = guarded;
  const { error, what } = failure;
  if (!isTributaryError(error)) {
    conformanceFailure(rule, `${what}, the sync failed with an untyped error: ${describeError(error)}. Throw TributaryError (or rethrow the host's) so callers can tell failures apart`, error);
  }
  if (error.code !== failure.code) {
    conformanceFailure(rule, `${what}, the sync failed with ${error.code} instead of ${failure.code}: ${describeError(error)}`, error);
  }
  const repository = await testHost.host.getRepository(GUARDED);
  if (repository.latestVersion !== version) {
    conformanceFailure(rule, `${what}, the repository moved from version ${version} to ${repository.latestVersion}: a failed sync must leave the previous version as it was`);
  }
  const differences = describeSnapshotDifferences(before, unitSet(await testHost.units(GUARDED)), { membershipOnly: true });
  if (differences.length > 0) {
    conformanceFailure(rule, `${what}, the repository's units changed: ${differences.join('; ')}`);
  }
  const leftovers = await testHost.tempLeftovers();
  if (leftovers.length > 0) {
    conformanceFailure(rule, `${what}, temporary files were left in storage: ${leftovers.slice(0, 3).join(', ')}`);
  }
  const [record] = await testHost.host.history(GUARDED);
  const expectedStatus = failure.code === ErrorCodes.SYNC_CANCELLED ? 'cancelled' : 'failed';
  if (record?.status !== expectedStatus) {
    conformanceFailure(rule, `${what}, the newest sync record says '${record?.status}' instead of '${expectedStatus}'`);
  }
  upstream.server.clearFaults();
  let recovered: SyncOutcome;
  try {
    recovered = await ctx.sync(testHost, GUARDED, upstream, { mirror: true });
  } catch (retryError) {
    return conformanceFailure(rule, `${what}, the next sync with upstream healthy again failed too: ${describeError(retryError)}`, retryError);
  }
  const expected = (await ctx.survey(upstream.state.name as StateName, rule)).units;
  const after = unitSet(await testHost.units(GUARDED));
  const wrong = [...missingFrom(expected, after), ...missingFrom(after, expected)];
  if (wrong.length > 0) {
    conformanceFailure(rule, `${what}, the next sync (version ${recovered.version}) did not bring the repository to the upstream's units (differing: ${listUnits(wrong)})`);
  }
}
