import type { AnyImporterPlugin } from '@tributary/plugin-api';
import type { FixtureUpstream } from './fixture-upstream.js';
import type { TestHost } from './test-host.js';

export type StateName = 'initial' | 'changed';

/** Settings of one sync a check runs; anything not given takes the kit's default. */
export interface CheckSyncOptions {
  readonly policy?: 'immediate' | 'on_demand';
  readonly mirror?: boolean;
  /** Default true, so the importer's early finish never hides what a sync would do. */
  readonly force?: boolean;
  readonly signal?: AbortSignal;
  readonly config?: Record<string, unknown>;
  /** The watchdog, when the kit's default does not suit (e.g. a sync the kit stalls on purpose). */
  readonly stallTimeoutMs?: number;
}

/** Hosts and fixture servers of one check, closed together when the check ends. */
export interface CheckScope {
  host(options?: { batchSize?: number; plugin?: AnyImporterPlugin }): Promise<TestHost>;
  upstream(state: StateName): Promise<FixtureUpstream>;
}
