import type { CheckScope, CheckSyncOptions, StateName } from './check-scope.js';
import type { FixtureUpstream } from './fixture-upstream.js';
import type { TestHost } from './test-host.js';
import type { LoadedState } from './fixture-states.js';
import { unitSet, type UnitSet } from './unit-snapshot.js';

/** What the plugin makes of one fixture state: its units, and which served files are artifacts. */
export interface StateSurvey {
  readonly state: LoadedState;
  readonly units: UnitSet;
  /**
   * Served paths whose bytes are artifacts of units (of types not always downloaded), with their
   * sha256: found from the requests an immediate sync made and from recorded remote urls.
   */
  readonly artifactPaths: ReadonlyMap<string, string>;
  /** sha256 of every artifact of the state's units (of types not always downloaded). */
  readonly artifactDigests: ReadonlySet<string>;
  /** Every path the immediate sync requested. */
  readonly requested: readonly string[];
}

/** What a survey needs of the kit's context (ConformanceContext). */
export interface SurveyContext {
  sync(testHost: TestHost, repository: string, upstream: FixtureUpstream, options?: CheckSyncOptions): Promise<unknown>;
  readonly alwaysDownloaded: ReadonlySet<string>;
}

/** Syncs `name` into an empty repository of a fresh host with policy immediate and looks at the result. */
export async function surveyState(ctx: SurveyContext, scope: CheckScope, name: StateName): Promise<StateSurvey> {
  const testHost = await scope.host();
  const upstream = await scope.upstream(name);
  await ctx.sync(testHost, 'survey', upstream, { policy: 'immediate' });
  const units = await testHost.units('survey');
  const requested = upstream.requestedPaths();
  const always = ctx.alwaysDownloaded;
  const artifactDigests = new Set<string>();
  const remotePaths = new Set<string>();
  for (const unit of units) {
    if (always.has(unit.typeId)) continue;
    for (const artifact of unit.artifacts) {
      if (artifact.sha256) artifactDigests.add(artifact.sha256);
      for (const url of artifact.remoteUrls) {
        const served = upstream.pathOfUrl(url);
        if (served !== undefined) remotePaths.add(served);
      }
    }
  }
  const artifactPaths = new Map<string, string>();
  for (const path of [...requested, ...remotePaths]) {
    const sha256 = upstream.state.sha256.get(path);
    if (sha256 !== undefined && (artifactDigests.has(sha256) || remotePaths.has(path))) artifactPaths.set(path, sha256);
  }
  return { state: upstream.state, units: unitSet(units), artifactPaths, artifactDigests, requested };
}
