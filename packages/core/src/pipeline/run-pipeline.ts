import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { debuglog } from 'node:util';
import {
  contentAwaitedBeforePut,
  ErrorCodes,
  isTributaryError,
  QUEUE_END,
  SyncFailedError,
  TributaryError,
  type Stage,
} from '@tributary/plugin-api';
import { FirstStageOutput } from './first-stage-output.js';
import { PipelineQueue } from './pipeline-queue.js';

/** `NODE_DEBUG=tributary-pipeline` prints each run's per-stage wall and busy milliseconds. */
const debug = debuglog('tributary-pipeline');

/** Capacity of each queue between two stages unless told otherwise. */
export const DEFAULT_QUEUE_CAPACITY = 100;

export interface RunPipelineArgs {
  /** The stages in order, the importer's first stage at index 0. */
  readonly stages: readonly Stage[];
  /** Aborting it cancels the sync: every stage stops and the run rejects with TRIBUTARY_ERR_SYNC_CANCELLED. */
  readonly signal?: AbortSignal;
  /** Importer name, for the error. */
  readonly plugin: string;
  /** Repository name, for the error. */
  readonly repository: string;
  /** Capacity of each queue between stages (default 100). */
  readonly queueCapacity?: number;
  /**
   * Progress watchdog: when no content moves between stages (and `progress` does not change) for
   * this many milliseconds, the run fails with TRIBUTARY_ERR_TIMEOUT naming what the first stage
   * waits on, without waiting for stages that ignore their signal. Default: no watchdog.
   */
  readonly stallTimeoutMs?: number;
  /** A counter of progress made outside the queues (bytes downloaded, say), for the watchdog. */
  readonly progress?: () => number;
  /** More words for the watchdog's error: what else the sync waits on (downloads in flight, say). */
  readonly describeStall?: () => string | undefined;
}

export interface PipelineOutcome {
  /** Milliseconds each stage spent in `run()`, by stage name. */
  readonly timings: Record<string, number>;
  /**
   * Milliseconds each stage spent in `run()` not waiting on its queues (for content to arrive or
   * for room downstream): where a slow sync spends its time is the stage with the most.
   */
  readonly busy: Record<string, number>;
}

interface Failure {
  readonly stage: string;
  readonly cause: unknown;
  readonly cancelled: boolean;
}

/**
 * Runs a sync pipeline: connects consecutive stages with bounded queues, runs every stage at once,
 * and closes a stage's output queue when its `run()` returns, so the end of input flows downstream.
 *
 * The first failure aborts the signal every stage and queue holds, so all of them stop promptly; the
 * run then waits for every stage to return before it rejects with one {@link SyncFailedError} naming
 * the plugin, the repository and the failing stage. When the caller's `signal` aborts first, the error
 * is a cancellation (unless the abort reason is a typed error with another code, such as a lost
 * lease) naming the stage that was at work at that moment.
 *
 * A stage that returns before it has consumed all of its input is a failure
 * (TRIBUTARY_ERR_PLUGIN_MISBEHAVED): silently discarding content would drop it from the repository.
 *
 * Every stage must honour its `signal`; a stage that ignores it keeps the run waiting.
 */
export async function runPipeline(args: RunPipelineArgs): Promise<PipelineOutcome> {
  const { stages } = args;
  if (stages.length === 0) {
    throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, 'a pipeline needs at least its first stage');
  }
  const capacity = args.queueCapacity ?? DEFAULT_QUEUE_CAPACITY;
  const names = distinctNames(stages);
  const controller = new AbortController();
  // every queue, awaited future and download of the sync listens to this one signal
  setMaxListeners(0, controller.signal);
  const queues: PipelineQueue[] = stages
    .slice(1)
    .map((_, i) => (i === 0 ? new FirstStageOutput(capacity, controller.signal, names[0]!, (error) => fail({ stage: names[0]!, cause: error, cancelled: false })) : new PipelineQueue(capacity, controller.signal)));
  const inputOf = (i: number): PipelineQueue | undefined => (i > 0 ? queues[i - 1] : undefined);
  const outputOf = (i: number): PipelineQueue | undefined => queues[i];

  const running = new Set<number>();
  const startedAt = Date.now();
  let stalled: TributaryError | undefined;
  const timings: Record<string, number> = {};
  const busy: Record<string, number> = {};
  let failure: Failure | undefined;

  const fail = (next: Failure): void => {
    if (failure) return;
    failure = next;
    controller.abort(next.cause);
  };

  /** The first running stage, in order, that waits on no queue; else the first running one. */
  const stageAtWork = (): string => {
    const active = [...running].sort((a, b) => a - b);
    const working = active.find((i) => !inputOf(i)?.consumerWaiting && !outputOf(i)?.producerWaiting);
    return names[working ?? active[0] ?? 0]!;
  };

  const syncFailed = (f: Failure): SyncFailedError =>
    new SyncFailedError({ plugin: args.plugin, repository: args.repository, stage: f.stage, cause: f.cause, cancelled: f.cancelled });

  const callerSignal = args.signal;
  const cancellation = (stage: string): Failure => {
    const cause = cancellationCause(callerSignal!.reason);
    return { stage, cause, cancelled: cause.code === ErrorCodes.SYNC_CANCELLED };
  };
  if (callerSignal?.aborted) throw syncFailed(cancellation(names[0]!));

  stages.forEach((stage, i) => {
    try {
      stage.connect(inputOf(i), outputOf(i), controller.signal);
    } catch (error) {
      throw syncFailed({ stage: names[i]!, cause: notAStage(names[i]!, error), cancelled: false });
    }
    running.add(i);
  });

  const onCallerAbort = (): void => {
    // a cancellation after the last stage returned changes nothing
    if (running.size > 0) fail(cancellation(stageAtWork()));
  };
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true });

  const runStage = async (i: number): Promise<void> => {
    const stage = stages[i]!;
    const name = names[i]!;
    const started = performance.now();
    try {
      await stage.run();
      const output = outputOf(i);
      if (output instanceof FirstStageOutput) output.markReturned();
      if (!controller.signal.aborted) {
        checkInputConsumed(name, inputOf(i));
        outputOf(i)?.close();
      }
    } catch (error) {
      fail({ stage: name, cause: error, cancelled: false });
    } finally {
      const wall = performance.now() - started;
      timings[name] = wall;
      busy[name] = Math.max(0, wall - (inputOf(i)?.consumerWaitMs ?? 0) - (outputOf(i)?.producerWaitMs ?? 0));
      running.delete(i);
    }
  };

  const watchdog = args.stallTimeoutMs !== undefined ? startWatchdog(args.stallTimeoutMs) : undefined;
  try {
    const all = Promise.all(stages.map((_, i) => runStage(i)));
    if (watchdog) await Promise.race([all, watchdog.gaveUp]);
    else await all;
  } finally {
    watchdog?.stop();
    callerSignal?.removeEventListener('abort', onCallerAbort);
  }

  /**
   * Fails the run once nothing moved for `stallMs`; once it has, waits a short grace for the stages
   * to return and then gives up on those that ignore their signal (a first stage awaiting a future
   * that can never settle would otherwise hold the sync, and its caller, forever).
   */
  function startWatchdog(stallMs: number): { gaveUp: Promise<void>; stop(): void } {
    if (!Number.isFinite(stallMs) || stallMs <= 0) {
      throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `stallTimeoutMs must be a positive number, got ${stallMs}`);
    }
    const measure = (): number => queues.reduce((n, q) => n + q.moved, 0) + (args.progress?.() ?? 0);
    let last = measure();
    let lastChange = performance.now();
    let giveUp!: () => void;
    const gaveUp = new Promise<void>((resolve) => (giveUp = resolve));
    let graceTimer: NodeJS.Timeout | undefined;
    const timer = setInterval(() => {
      const now = measure();
      if (now !== last) {
        last = now;
        lastChange = performance.now();
        return;
      }
      if (performance.now() - lastChange < stallMs || stalled || running.size === 0) return;
      stalled = stallError(stallMs);
      fail({ stage: running.has(0) ? names[0]! : stageAtWork(), cause: stalled, cancelled: false });
      clearInterval(timer);
      graceTimer = setTimeout(giveUp, Math.min(2_000, stallMs));
    }, Math.max(10, Math.min(1_000, Math.floor(stallMs / 4))));
    timer.unref?.();
    return {
      gaveUp,
      stop: () => {
        clearInterval(timer);
        if (graceTimer) clearTimeout(graceTimer);
      },
    };
  }

  function stallError(stallMs: number): TributaryError {
    const seconds = Math.round(stallMs / 100) / 10;
    const waits: string[] = [];
    const first = queues[0];
    if (running.has(0)) {
      const unput = contentAwaitedBeforePut(startedAt);
      if (unput.length > 0) {
        const shown = unput.slice(0, 3).map((dc) => `'${dc.typeId}' ${safeJson(dc.key)}`).join(', ');
        waits.push(
          `the first stage ${names[0]} awaits resolution() of ${unput.length} content(s) it never put(): ${shown}${unput.length > 3 ? ', …' : ''}. ` +
            'A future settles only once its content went through the pipeline: put() the content before awaiting its resolution()',
        );
      } else if (first?.producerWaiting) {
        waits.push(`the first stage ${names[0]} waits for room in a full pipeline (a later stage is stuck: ${stageAtWork()})`);
      } else {
        waits.push(
          `the first stage ${names[0]} is still running but has put nothing for ${seconds} s and downloads nothing through the host's fetcher: ` +
            'it waits on something outside the pipeline (a promise nobody settles, a request made around the host, a timer)',
        );
      }
    } else {
      waits.push(`stage ${stageAtWork()} is at work but nothing moved`);
    }
    const extra = args.describeStall?.();
    if (extra) waits.push(extra);
    return new TributaryError(ErrorCodes.TIMEOUT, `the sync of '${args.repository}' made no progress for ${seconds} s: ${waits.join('; ')}`, {
      details: { stallTimeoutMs: stallMs, stage: running.has(0) ? names[0] : stageAtWork(), emitted: first instanceof FirstStageOutput ? first.count : undefined },
    });
  }

  // assigned inside the callbacks above, which control-flow analysis does not follow
  const failed = failure as Failure | undefined;
  if (debug.enabled) {
    const rows = names.map((name) => `${name} ${Math.round(timings[name] ?? 0)}/${Math.round(busy[name] ?? 0)}`);
    debug(`${args.repository}: ${failed ? `failed in ${failed.stage}` : 'done'}; wall/busy ms: ${rows.join(', ')}`);
  }
  if (failed) throw syncFailed(failed);
  return { timings, busy };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function notAStage(name: string, error: unknown): TributaryError {
  return new TributaryError(
    ErrorCodes.PLUGIN_MISBEHAVED,
    `pipeline stage ${name} could not be connected; is it a Stage from @tributary/plugin-api?`,
    { cause: error, details: { stage: name } },
  );
}

function checkInputConsumed(stage: string, input: PipelineQueue | undefined): void {
  if (!input) return;
  if (input.poll() !== QUEUE_END) {
    throw new TributaryError(
      ErrorCodes.PLUGIN_MISBEHAVED,
      `stage ${stage} returned before consuming all of its input; a stage must read items() or batches() to the end`,
      { details: { stage } },
    );
  }
}

/** The caller's abort reason as a typed error: kept when it is one (a lost lease), else a cancellation. */
function cancellationCause(reason: unknown): TributaryError {
  if (isTributaryError(reason)) return reason;
  return new TributaryError(ErrorCodes.SYNC_CANCELLED, 'the sync was cancelled', { cause: reason });
}

/** Stage names as timings and errors use them; a repeated name gets a `#2`, `#3`… suffix. */
function distinctNames(stages: readonly Stage[]): string[] {
  const seen = new Map<string, number>();
  return stages.map((stage) => {
    const base = String(stage.name || 'Stage');
    const count = (seen.get(base) ?? 0) + 1;
    seen.set(base, count);
    return count === 1 ? base : `${base}#${count}`;
  });
}
