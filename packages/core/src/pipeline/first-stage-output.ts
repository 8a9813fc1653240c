import { DeclarativeContent, ErrorCodes, PUT_DONE, TributaryError } from '@tributary/plugin-api';
import { describeUnit, EmissionIndex, emissionConflictError } from '../conduit/emission-index.js';
import { PipelineQueue } from './pipeline-queue.js';

/**
 * The queue behind an importer's first stage: what the importer emits crosses it, so the host
 * checks here, for next to nothing per item, what would otherwise lose data silently:
 *
 * - content put() after the first stage's run() returned (a detached promise): the host has closed
 *   the queue and would drop it — TRIBUTARY_ERR_PLUGIN_MISBEHAVED;
 * - run() returning while put()s still wait for room (not awaited): the same;
 * - one unit key emitted twice with different content, or one relative path claimed by two units:
 *   the store or an export would keep only one — TRIBUTARY_ERR_PLUGIN_MISBEHAVED naming both;
 * - key and metadata objects changed after put(): they are frozen (shallowly) as they go in, so
 *   the change throws where the importer makes it instead of corrupting a unit later.
 */
export class FirstStageOutput extends PipelineQueue {
  private returned = false;
  private waitingPuts = 0;
  private readonly emitted = new EmissionIndex();

  constructor(
    capacity: number,
    signal: AbortSignal,
    private readonly stage: string,
    /** Fails the sync with this error (the put() that broke a rule rejects with it too). */
    private readonly misbehaved: (error: TributaryError) => void,
  ) {
    super(capacity, signal);
  }

  /** How many contents the first stage has put. */
  get count(): number {
    return this.emitted.count;
  }

  override put(item: DeclarativeContent): Promise<void> {
    if (this.returned) {
      // the sync fails (while it still runs; once it is over nobody can tell it any more), but the
      // put() resolves: a rejection in the importer's detached promise would crash the host's process
      this.misbehaved(lateEmission(this.stage, item));
      return PUT_DONE;
    }
    if (!(item instanceof DeclarativeContent) && typeof (item as { typeId?: unknown })?.typeId !== 'string') {
      return this.refuse(new TributaryError(ErrorCodes.PLUGIN_MISBEHAVED, `stage ${this.stage} put() something that is not a DeclarativeContent`, { details: { stage: this.stage } }));
    }
    Object.freeze(item.key);
    if (item.metadataJson === undefined) Object.freeze(item.metadata);
    const conflict = this.emitted.record(item);
    if (conflict) return this.refuse(emissionConflictError({ stage: this.stage, who: `stage ${this.stage}`, verb: 'emitted', noun: 'content' }, item.typeId, item.key, conflict));
    const pending = super.put(item);
    if (pending === PUT_DONE) return pending;
    this.waitingPuts++;
    const waiting = pending.finally(() => this.waitingPuts--);
    // an un-awaited put() that fails must not crash the process: the sync reports the failure
    waiting.catch(() => undefined);
    return waiting;
  }

  /**
   * Called when the first stage's run() returned: from now on put() is an error, and so is a put()
   * still waiting for room (its content would be lost).
   */
  markReturned(): void {
    this.returned = true;
    if (this.waitingPuts > 0) {
      throw new TributaryError(
        ErrorCodes.PLUGIN_MISBEHAVED,
        `stage ${this.stage} returned from run() while ${this.waitingPuts} put() call(s) still waited for room in the pipeline: their content would be lost. Await every put()`,
        { details: { stage: this.stage, waitingPuts: this.waitingPuts } },
      );
    }
  }

  private refuse(error: TributaryError): Promise<void> {
    this.misbehaved(error);
    const rejected = Promise.reject(error);
    // a detached put() nobody awaits must not crash the process: the sync reports the error
    rejected.catch(() => undefined);
    return rejected;
  }
}

function lateEmission(stage: string, dc: DeclarativeContent): TributaryError {
  return new TributaryError(
    ErrorCodes.PLUGIN_MISBEHAVED,
    `stage ${stage} put() content ${describeUnit(dc.typeId, dc.key)} after its run() had returned: the pipeline's input was already closed, so the content would be silently missing. ` +
      'Await everything that emits content (no detached promises, .then() chains or un-awaited async calls) before run() returns',
    { details: { stage, typeId: dc.typeId, key: dc.key, rule: 'put-after-return' } },
  );
}
