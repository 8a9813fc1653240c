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
      // one quick retry: fault checks fail fast, and a flaky retry path is still exercised; the header
      // marks requests made through the host's fetcher (rule requests-through-host)
      remote: { retries: 1, backoffMs: 5, headers: { [KIT_HEADER]: KIT_HEADER_VALUE } },
      stallTimeoutMs: options.stallTimeoutMs ?? this.options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
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
      if (rule !== 'first-sync-succeeds' && (await this.firstSyncFails())) return conformanceFailure(rule, firstSyncFailsWords(error), error);
      return conformanceFailure(rule, `${what} failed, so the rule could not be checked: ${describeError(error)}`, error);
    }
  }

  /** Whether an immediate sync of the initial state into an empty repository fails (rule first-sync-succeeds says why). */
  async firstSyncFails(): Promise<boolean> {
    return this.surveyOf('initial').then(
      () => false,
      () => true,
    );
  }

  private surveyOf(name: StateName): Promise<StateSurvey> {
    let survey = this.surveys.get(name);
    if (!survey) {
      survey = this.withScope(async (scope) => surveyState(this, scope, name));
      survey.catch(() => undefined);
      this.surveys.set(name, survey);
    }
    return survey;
  }

  /** What the plugin makes of a fixture state in an immediate sync into an empty repository. */
  survey(name: StateName, rule: ConformanceRule): Promise<StateSurvey> {
    return this.surveyOf(name).catch((error: unknown) =>
      rule === 'first-sync-succeeds'
        ? conformanceFailure(rule, `an immediate sync of the fixture's ${name} state into an empty repository failed: ${describeError(error)}${adviceFor(error)}`, error)
        : conformanceFailure(rule, firstSyncFailsWords(error), error),
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

/** The header the kit's syncs give the host's fetcher, so the fixture server tells its requests from others. */
export const KIT_HEADER = 'x-tributary-conformance';
export const KIT_HEADER_VALUE = 'through-the-host';
export const DEFAULT_STALL_TIMEOUT_MS = 10_000;

/** What every rule but first-sync-succeeds says when the importer's first sync fails: once, briefly. */
function firstSyncFailsWords(error: unknown): string {
  const code = rootCode(error);
  return `not checked: the importer's first sync fails${code ? ` (${code})` : ''}; rule 'first-sync-succeeds' says why. Fix that first`;
}

function rootCode(error: unknown): string | undefined {
  let code: string | undefined;
  let current: unknown = error;
  for (let depth = 0; depth < 10 && current; depth++) {
    const c = (current as { code?: unknown }).code;
    if (typeof c === 'string') code = c;
    current = (current as { cause?: unknown }).cause;
  }
  return code;
}

/** The innermost error of a cause chain. */
export function rootCause(error: unknown): unknown {
  let current: unknown = error;
  for (let depth = 0; depth < 10; depth++) {
    const next = (current as { cause?: unknown } | undefined)?.cause;
    if (next === undefined || next === null) return current;
    current = next;
  }
  return current;
}

/** What to do about the host's typed refusals, in a plugin author's words. */
export function adviceFor(error: unknown): string {
  const root = rootCause(error);
  const message = root instanceof Error ? root.message : String(root);
  const details = (root as { details?: { rule?: string } } | undefined)?.details;
  if (root instanceof TypeError && /read[- ]only|not extensible|Cannot (add|delete|assign)/i.test(message)) {
    return (
      '.\nThe host freezes a content\'s key and metadata objects when it is put(): the importer changed one afterwards ' +
      '(a key or metadata object reused for the next content?). Build new objects for every content'
    );
  }
  if (details?.rule === 'duplicate-key') return '.\nLikely cause: the same upstream record is read twice (two pages, a mirror list) and built differently, or the key lacks a field that tells two records apart';
  if (details?.rule === 'duplicate-relative-path') return '.\nLikely cause: relativePath is built from too little (the project name without the file name or version)';
  if (details?.rule === 'put-after-return') return '.\nLikely cause: a page emitted from a promise that run() does not await';
  if ((root as { code?: unknown })?.code === 'TRIBUTARY_ERR_TIMEOUT') return '.\nThe host\'s watchdog stopped the sync: see what it says the first stage waits on';
  if ((root as { code?: unknown })?.code === 'TRIBUTARY_ERR_UNIT_METADATA_INVALID') return '.\nBuild metadata that matches the metadataSchema the content type declares';
  return '';
}

/** A context for running the `checkX` functions directly (as the kit's own tests do). */
export function createConformanceContext(options: ImporterConformanceOptions): ConformanceContext {
  return new ConformanceContext(options);
}
