import { Stage, type DeclarativeContent } from '@tributary/plugin-api';
import { batchSizeOf, type PipelineContext } from './pipeline-context.js';

/**
 * Completes each content's `resolution()` future with its stored unit, waking whoever awaits it
 * (multi-level discovery). Content resolved earlier was dropped by a plugin and goes no further.
 *
 * It reads in batches only because that is cheaper per item than one at a time: a batch holding
 * content whose future is awaited is handed over at once, so waiters are never held up.
 */
export class ResolveContentFutures extends Stage {
  constructor(private readonly ctx: PipelineContext) {
    super('ResolveContentFutures');
  }

  override async run(): Promise<void> {
    for await (const batch of this.batches(batchSizeOf(this.ctx))) {
      const live: DeclarativeContent[] = [];
      for (const dc of batch) {
        if (dc.resolved) continue;
        dc.resolve(dc.unit);
        live.push(dc);
      }
      await this.putAll(live);
    }
  }
}
