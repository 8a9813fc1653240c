import { Stage } from '@tributary/plugin-api';
import type { PipelineContext } from './pipeline-context.js';

/**
 * Mirror syncs only: once all content has been associated, removes from the in-progress version
 * the units upstream no longer lists (`unassociateUnseen`; units a user added stay). It acts only
 * after its input ended normally, so a failed or cancelled sync never removes anything.
 */
export class ContentUnassociation extends Stage {
  constructor(private readonly ctx: PipelineContext) {
    super('ContentUnassociation');
  }

  override async run(): Promise<void> {
    for await (const dc of this.items()) await this.put(dc);
    this.signal.throwIfAborted();
    await this.ctx.conduit.unassociateUnseen();
  }
}
