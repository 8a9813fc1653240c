import { Stage } from '@tributary/plugin-api';

/**
 * Completes each content's `resolution()` future with its stored unit, waking whoever awaits it
 * (multi-level discovery). Content resolved earlier was dropped by a plugin and goes no further.
 */
export class ResolveContentFutures extends Stage {
  constructor() {
    super('ResolveContentFutures');
  }

  override async run(): Promise<void> {
    for await (const dc of this.items()) {
      if (dc.resolved) continue;
      dc.resolve(dc.unit);
      await this.put(dc);
    }
  }
}
