import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import { conformanceFailure } from '../conformance-failure.js';
import type { ConformanceContext } from '../conformance-context.js';
import type { ConformanceRule } from '../conformance-rules.js';
import { expectIntactAfterFailure, GUARDED, planFailingSync, prepareGuardedRepository } from '../failing-sync.js';
import type { FixtureUpstream } from '../fixture-upstream.js';
import { instrumentPlugin } from '../instrumented-plugin.js';

/** Calls after cancellation a well-behaved plugin may make: the one that tells it the sync stopped. */
const CALLS_ALLOWED_AFTER_CANCEL = 1;

/**
 * Rule `cancelled-sync-intact`: a sync cancelled (its AbortSignal aborted) as soon as the first new
 * artifact is requested fails with TRIBUTARY_ERR_SYNC_CANCELLED and leaves the previous version.
 */
export async function checkCancelledSyncIntact(ctx: ConformanceContext): Promise<void> {
  const rule = 'cancelled-sync-intact';
  const plan = await planFailingSync(ctx, rule);
  await ctx.withScope(async (scope) => {
    const guarded = await prepareGuardedRepository(ctx, scope, plan, rule);
    // new files never arrive, so the sync is surely midway when the kit cancels it, however slow the
    // machine; cancelling must interrupt the downloads in flight
    for (const path of plan.paths) guarded.upstream.fault(path, { stall: true });
    const controller = new AbortController();
    const watcher = abortWhenRequested(guarded.upstream, plan.paths, controller);
    const sync = ctx.sync(guarded.testHost, GUARDED, guarded.upstream, { mirror: true, signal: controller.signal });
    let error: unknown;
    try {
      error = await settledAfterCancel(ctx, rule, sync, controller.signal);
    } finally {
      watcher.stop();
    }
    if (!controller.signal.aborted) {
      conformanceFailure(rule, `the kit meant to cancel the sync when it requested ${plan.paths.join(', ')}, but the sync never requested them`);
    }
    if (error === undefined) conformanceFailure(rule, 'the sync succeeded although it was cancelled midway: stop when the AbortSignal aborts');
    await expectIntactAfterFailure(ctx, rule, guarded, { error, code: ErrorCodes.SYNC_CANCELLED, what: 'after the sync was cancelled midway' });
  });
}

/**
 * Rule `cancellation-honoured`: once a sync is cancelled (here: the moment the plugin first emits a
 * unit), the plugin stops: it does not go on emitting units, calling the conduit or downloading.
 */
export async function checkCancellationHonoured(ctx: ConformanceContext): Promise<void> {
  const rule = 'cancellation-honoured';
  const plan = await planFailingSync(ctx, rule);
  let armed: AbortController | undefined;
  const { plugin, activity } = instrumentPlugin(ctx.plugin, { onEmission: () => armed?.abort(cancelReason()) });
  await ctx.withScope(async (scope) => {
    const testHost = await scope.host({ plugin });
    const guarded = await prepareGuardedRepository(ctx, scope, plan, rule, testHost);
    const controller = new AbortController();
    armed = controller;
    const sync = ctx.sync(testHost, GUARDED, guarded.upstream, { mirror: true, signal: controller.signal });
    const error = await settledAfterCancel(ctx, rule, sync, controller.signal);
    if (!controller.signal.aborted) {
      conformanceFailure(rule, `the kit meant to cancel the sync when the plugin first emitted a unit, but during the sync of the ${plan.target} state it emitted none`);
    }
    const calls = [...activity.afterCancel].reduce((n, [, count]) => n + count, 0);
    if (calls > CALLS_ALLOWED_AFTER_CANCEL) {
      const named = [...activity.afterCancel].map(([name, count]) => `${name} ×${count}`).join(', ');
      conformanceFailure(
        rule,
        `after its sync was cancelled the plugin still made ${calls} calls (${named}).\n` +
          'Stop as soon as the sync is cancelled: check this.signal (in a stage) or ctx.signal in loops, pass it to fetcher.download, ' +
          'and let the error put() or the conduit throws after cancellation end your loop instead of catching it',
      );
    }
    if (error === undefined) conformanceFailure(rule, 'the sync succeeded although it was cancelled');
  });
}

function cancelReason(): TributaryError {
  return new TributaryError(ErrorCodes.SYNC_CANCELLED, 'cancelled by the conformance kit');
}

/**
 * Waits for a sync to settle; returns its error (undefined if it succeeded). A sync still running
 * `cancelSettleMs` after its signal aborted is a conformance failure: it ignores cancellation.
 */
async function settledAfterCancel(ctx: ConformanceContext, rule: ConformanceRule, sync: Promise<unknown>, signal: AbortSignal): Promise<unknown> {
  const limitMs = ctx.options.cancelSettleMs ?? 20_000;
  const settled = sync.then(
    () => ({ error: undefined as unknown }),
    (error: unknown) => ({ error }),
  );
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    const start = () => (timer = setTimeout(() => resolve('hung'), limitMs));
    if (signal.aborted) start();
    else signal.addEventListener('abort', start, { once: true });
  });
  try {
    const result = await Promise.race([settled, hung]);
    if (result === 'hung') {
      conformanceFailure(rule, `the sync was still running ${limitMs} ms after it was cancelled: the importer ignores its AbortSignal (ctx.signal, or this.signal in a stage) somewhere, e.g. in a download without the signal`);
    }
    return result.error;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Aborts `controller` as soon as the upstream has received a request for one of `paths`. */
function abortWhenRequested(upstream: FixtureUpstream, paths: readonly string[], controller: AbortController): { stop(): void } {
  const wanted = new Set(paths);
  const from = upstream.server.requests.length;
  const timer = setInterval(() => {
    if (upstream.requestedPaths(from).some((p) => wanted.has(p))) {
      controller.abort(cancelReason());
      clearInterval(timer);
    }
  }, 2);
  return { stop: () => clearInterval(timer) };
}
