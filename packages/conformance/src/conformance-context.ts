import type { SyncOptions, SyncOutcome } from '@tributary/core';
import type { AnyImporterPlugin } from '@tributary/plugin-api';
import { conformanceFailure } from './conformance-failure.js';
import type { ImporterConformanceOptions } from './conformance-options.js';
import type { ConformanceRule } from './conformance-rules.js';
import { describeError } from './error-words.js';
import { FixtureUpstream } from './fixture-upstream.js';
import { loadFixtureState, type ImporterFixtures, type LoadedState } from './fixture-states.js';
import { surveyState, type StateSurvey } from './fixture-survey.js';
import { startTestHost, type TestHost } from './test-host.js';

import type { CheckScope, CheckSyncOptions, StateName } from './check-scope.js';

export type { CheckScope, CheckSyncOptions, StateName };

/**
 * What every check runs against: the plugin, its fixtures (loaded once) and a survey of what the
 * plugin makes of each fixture state (computed once, on first use).
 */
export class ConformanceContext {
  readonly plugin: AnyImporterPlugin;
  private fixturesPromise: Promise<{ fixtures: ImporterFixtures; initial: LoadedState; changed: LoadedState }> | undefined;
  private readonly surveys = new Map<StateName, Promise<StateSurvey>>();

  constructor(readonly options: ImporterConformanceOptions) {
    this.plugin = options.plugin;
  }

  /** Runs `work` with a scope whose hosts and servers are closed afterwards, whatever happens. */
  async withScope<T>(work: (scope: CheckScope) => Promise<T>): Promise<T> {
    const closers: Array<() => Promise<void>> = [];
    const scope: CheckScope = {
      host: async (options = {}) => {
        const host = await startTestHost({ plugins: [options.plugin ?? this.plugin], ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}) });
        closers.push(() => host.close());
        return host;
      },
      upstream: async (state) => {
        const upstream = await FixtureUpstream.start(await this.state(state), (await this.fixtures()).feedPath ?? '');
        closers.push(() => upstream.close());
        return upstream;
      },
    };
    try {
      return await work(scope);
    } finally {
      for (const close of closers.reverse()) await close().catch(() => undefined);
    }
  }

  async state(name: StateName): Promise<LoadedState> {
    const loaded = await this.loaded();
    return loaded[name];
  }

  async fixtures(): Promise<ImporterFixtures> {
    return (await this.loaded()).fixtures;
  }

  /**
   * Runs one sync of `repository` (created if needed) from `upstream`; returns its outcome or
   * rejects with the host's error.
   */
  async sync(testHost: TestHost, repository: string, upstream: FixtureUpstream, options: CheckSyncOptions = {}): Promise<SyncOutcome> {
    const { host } = testHost;
    if (!(await host.store.getRepository(repository))) await host.createRepository({ name: repository });
    const config = options.config ?? this.options.config;
    const syncOptions: SyncOptions = {
      importer: this.plugin.name,
      url: upstream.feedUrl,
      policy: options.policy ?? 'immediate',
      mirror: options.mirror ?? false,
      force: options.force ?? true,
      // one quick retry: fault checks fail fast, and a flaky retry path is still exercised
      remote: { retries: 1, backoffMs: 5 },
      ...(config !== undefined ? { config } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    };
    return host.sync(repository, syncOptions);
  }

  /** Like `sync`, but a failure is a conformance failure of `rule` saying which sync failed. */
  async syncExpectingSuccess(rule: ConformanceRule, what: string, testHost: TestHost, repository: string, upstream: FixtureUpstream, options: CheckSyncOptions = {}): Promise<SyncOutcome> {
    try {
      return await this.sync(testHost, repository, upstream, options);
    } catch (error) {
      return conformanceFailure(rule, `${what} failed, so the rule could not be checked: ${describeError(error)}`, error);
    }
  }

  /** What the plugin makes of a fixture state in an immediate sync into an empty repository. */
  survey(name: StateName, rule: ConformanceRule): Promise<StateSurvey> {
    let survey = this.surveys.get(name);
    if (!survey) {
      survey = this.withScope(async (scope) => surveyState(this, scope, name));
      this.surveys.set(name, survey);
    }
    return survey.catch((error: unknown) =>
      conformanceFailure(rule, `an immediate sync of the fixture's ${name} state into an empty repository failed, so the rule could not be checked: ${describeError(error)}`, error),
    );
  }

  /** The content types whose artifacts even an on_demand sync downloads. */
  get alwaysDownloaded(): ReadonlySet<string> {
    return new Set(this.options.alwaysDownloadedTypes ?? []);
  }

  private loaded(): Promise<{ fixtures: ImporterFixtures; initial: LoadedState; changed: LoadedState }> {
    this.fixturesPromise ??= (async () => {
      const given = this.options.fixtures;
      const fixtures = typeof given === 'function' ? await given() : given;
      if (!fixtures || !fixtures.initial || !fixtures.changed) {
        throw new Error('conformance fixtures must have an initial and a changed state: { initial: { root } | { files }, changed: …, feedPath? }');
      }
      const [initial, changed] = await Promise.all([loadFixtureState('initial', fixtures.initial), loadFixtureState('changed', fixtures.changed)]);
      return { fixtures, initial, changed };
    })();
    return this.fixturesPromise;
  }
}

/** A context for running the `checkX` functions directly (as the kit's own tests do). */
export function createConformanceContext(options: ImporterConformanceOptions): ConformanceContext {
  return new ConformanceContext(options);
}
