import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import { conformanceFailure } from '../conformance-failure.js';
import type { ConformanceContext } from '../conformance-context.js';
import type { ConformanceRule } from '../conformance-rules.js';
import { causeCodes, describeError } from '../error-words.js';
import { expectIntactAfterFailure, GUARDED, prepareGuardedRepository, type FailingSyncPlan } from '../failing-sync.js';
import type { FixtureUpstream } from '../fixture-upstream.js';

/**
 * The index and metadata files a sync of the changed state requests (what its survey requested that
 * is not an artifact), in request order, and the one the kit breaks: the last of them whose bytes
 * differ from the initial state's (so the sync cannot do without it), else the last one; or the
 * author's `faultPath` when it names one of them.
 */
export async function planIndexFault(ctx: ConformanceContext, rule: ConformanceRule): Promise<{ plan: FailingSyncPlan; indexPaths: string[] }> {
  const changed = await ctx.survey('changed', rule);
  const initial = await ctx.state('initial');
  const indexPaths = [...new Set(changed.requested)].filter((p) => !changed.artifactPaths.has(p) && changed.state.files.has(p));
  if (indexPaths.length === 0) {
    conformanceFailure(rule, 'the sync of the changed state requested no index or metadata file the fixture serves, so the kit has none to break');
  }
  const named = ctx.options.faultPath?.replace(/^\/+/, '');
  if (named !== undefined && indexPaths.includes(named)) return { plan: { base: 'initial', target: 'changed', paths: [named] }, indexPaths };
  const differing = indexPaths.filter((p) => initial.sha256.get(p) !== changed.state.sha256.get(p));
  const target = (differing.length > 0 ? differing : indexPaths)[(differing.length > 0 ? differing : indexPaths).length - 1] as string;
  return { plan: { base: 'initial', target: 'changed', paths: [target] }, indexPaths };
}

async function failingSync(ctx: ConformanceContext, guarded: { testHost: Parameters<ConformanceContext['sync']>[0]; upstream: FixtureUpstream }, signal?: AbortSignal): Promise<unknown> {
  try {
    await ctx.sync(guarded.testHost, GUARDED, guarded.upstream, { mirror: true, ...(signal ? { signal } : {}) });
    return undefined;
  } catch (error) {
    return error;
  }
}

/** Rule `index-error-intact`: an HTTP 500 on an index page or metadata file fails the sync, typed, intact. */
export async function checkIndexErrorIntact(ctx: ConformanceContext): Promise<void> {
  const rule = 'index-error-intact';
  const { plan } = await planIndexFault(ctx, rule);
  const target = plan.paths[0] as string;
  await ctx.withScope(async (scope) => {
    const guarded = await prepareGuardedRepository(ctx, scope, plan, rule);
    guarded.upstream.fault(target, { status: 500 });
    const error = await failingSync(ctx, guarded);
    if (error === undefined) {
      conformanceFailure(
        rule,
        `the sync reported success although upstream answered HTTP 500 for the index/metadata file ${target}: what that file lists is missing or stale in the repository.\n` +
          'Let a failed download of an index page fail the sync (do not catch it and carry on, and do not retry it yourself: the host retries)',
      );
    }
    if (!causeCodes(error).includes(ErrorCodes.HTTP_STATUS)) {
      conformanceFailure(
        rule,
        `after upstream answered HTTP 500 for ${target}, the failure does not carry the upstream's ${ErrorCodes.HTTP_STATUS}: ${describeError(error)}.\n` +
          "Let the host's typed error through, or keep it as the `cause` of your own (new TributaryError(code, message, { cause }))",
        error,
      );
    }
    await expectIntactAfterFailure(ctx, rule, guarded, { error, code: ErrorCodes.SYNC_FAILED, what: `after upstream answered HTTP 500 for ${target}` });
  });
}

/** Rule `index-truncated-intact`: an index or metadata file cut short fails the sync, typed, intact. */
export async function checkIndexTruncatedIntact(ctx: ConformanceContext): Promise<void> {
  const rule = 'index-truncated-intact';
  const { plan } = await planIndexFault(ctx, rule);
  const target = plan.paths[0] as string;
  const length = (await ctx.state('changed')).files.get(target)?.length ?? 0;
  await ctx.withScope(async (scope) => {
    const guarded = await prepareGuardedRepository(ctx, scope, plan, rule);
    guarded.upstream.fault(target, { truncateTo: Math.floor(length / 2) });
    const error = await failingSync(ctx, guarded);
    const what = `after upstream cut ${target} short (${Math.floor(length / 2)} of ${length} bytes)`;
    if (error === undefined) {
      conformanceFailure(rule, `the sync reported success although the index/metadata file ${target} arrived cut short: units it lists are missing or wrong.\nLet the download's error fail the sync`);
    }
    await expectIntactAfterFailure(ctx, rule, guarded, { error, code: ErrorCodes.SYNC_FAILED, what });
  });
}

/**
 * Rule `index-cancellation-honoured`: a sync cancelled while its first index request is in flight
 * (the kit holds that request unanswered) stops within `cancelSettleMs`, typed, intact.
 */
export async function checkIndexCancellationHonoured(ctx: ConformanceContext): Promise<void> {
  const rule = 'index-cancellation-honoured';
  const { plan, indexPaths } = await planIndexFault(ctx, rule);
  const first = indexPaths[0] as string;
  const limitMs = ctx.options.cancelSettleMs ?? 20_000;
  await ctx.withScope(async (scope) => {
    const guarded = await prepareGuardedRepository(ctx, scope, { ...plan, paths: [first] }, rule);
    guarded.upstream.fault(first, { stall: true });
    const controller = new AbortController();
    const from = guarded.upstream.server.requests.length;
    const timer = setInterval(() => {
      if (guarded.upstream.requestedPaths(from).includes(first)) {
        clearInterval(timer);
        controller.abort(new TributaryError(ErrorCodes.SYNC_CANCELLED, 'cancelled by the conformance kit'));
      }
    }, 2);
    let hung: NodeJS.Timeout | undefined;
    try {
      const sync = failingSync(ctx, guarded, controller.signal);
      const result = await Promise.race([
        sync.then((error) => ({ error })),
        new Promise<'hung'>((resolve) => {
          const start = () => (hung = setTimeout(() => resolve('hung'), limitMs));
          if (controller.signal.aborted) start();
          else controller.signal.addEventListener('abort', start, { once: true });
        }),
      ]);
      if (!controller.signal.aborted) conformanceFailure(rule, `the sync never requested ${first}, so the kit could not cancel it while it fetched its index`);
      if (result === 'hung') {
        conformanceFailure(
          rule,
          `the sync was still running ${limitMs} ms after it was cancelled while it fetched ${first}: the index is fetched in a way that ignores cancellation ` +
            "(a request made around the host's fetcher, or without the sync's signal)",
        );
      }
      if (result.error === undefined) conformanceFailure(rule, `the sync succeeded although it was cancelled while it fetched ${first}`);
      guarded.upstream.server.clearFaults();
      await expectIntactAfterFailure(ctx, rule, guarded, { error: result.error, code: ErrorCodes.SYNC_CANCELLED, what: `after the sync was cancelled while it fetched ${first}` });
    } finally {
      clearInterval(timer);
      if (hung) clearTimeout(hung);
    }
  });
}
