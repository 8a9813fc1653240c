import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { debuglog } from 'node:util';
import {
  ErrorCodes,
  isTributaryError,
  QUEUE_END,
  SyncFailedError,
  TributaryError,
  type Stage,
} from '@tributary/plugin-api';
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
  const queues = stages.slice(1).map(() => new PipelineQueue(capacity, controller.signal));
  const inputOf = (i: number): PipelineQueue | undefined => (i > 0 ? queues[i - 1] : undefined);
  const outputOf = (i: number): PipelineQueue | undefined => queues[i];

  const running = new Set<number>();
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

  try {
    await Promise.all(stages.map((_, i) => runStage(i)));
  } finally {
    callerSignal?.removeEventListener('abort', onCallerAbort);
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
