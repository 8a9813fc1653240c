import type { AnyImporterPlugin, DeclarativeContent, FirstStageContext, Stage } from '@tributary/plugin-api';
import { conformanceFailure } from '../conformance-failure.js';
import type { ConformanceContext } from '../conformance-context.js';

/** How long the kit waits after a sync for content a detached promise still puts. */
const LATE_PUT_WAIT_MS = 300;

/**
 * Rule `first-sync-succeeds`: an immediate sync of each fixture state into an empty repository
 * succeeds. The host's own checks (duplicate keys or relative paths, put() after run() returned,
 * schema, frozen keys and metadata, the progress watchdog) fail it when the importer loses data; the
 * kit adds one the host cannot make once the sync is over: no put() after the first stage returned.
 * Every other rule that needs a sync reports a failure here once, briefly, instead of its own.
 */
export async function checkFirstSyncSucceeds(ctx: ConformanceContext): Promise<void> {
  const rule = 'first-sync-succeeds';
  await ctx.survey('initial', rule);
  await ctx.survey('changed', rule);
  if (!ctx.plugin.firstStage) return;
  const late: string[] = [];
  const plugin = watchingLatePuts(ctx.plugin, late);
  await ctx.withScope(async (scope) => {
    const testHost = await scope.host({ plugin });
    const upstream = await scope.upstream('initial');
    await ctx.syncExpectingSuccess(rule, "an immediate sync of the fixture's initial state", testHost, 'late-puts', upstream);
    await new Promise((resolve) => setTimeout(resolve, LATE_PUT_WAIT_MS));
  });
  if (late.length > 0) {
    conformanceFailure(
      rule,
      `the first stage put() ${late.length} content(s) after its run() had returned (${late.slice(0, 3).join(', ')}): the sync had already ended, so they are missing from the repository although it reported success.\n` +
        'Await everything that emits content inside run(): no detached promises, .then() chains or un-awaited async calls',
    );
  }
}

/** The plugin, its first stage noting what is put() after its run() returned. */
function watchingLatePuts(plugin: AnyImporterPlugin, late: string[]): AnyImporterPlugin {
  const firstStage = plugin.firstStage!;
  return {
    ...plugin,
    firstStage: (ctx: FirstStageContext<never>) => {
      const stage: Stage = firstStage(ctx);
      let returned = false;
      const run = stage.run.bind(stage);
      const put = stage.put.bind(stage);
      Object.defineProperty(stage, 'run', {
        value: async () => {
          try {
            await run();
          } finally {
            returned = true;
          }
        },
      });
      Object.defineProperty(stage, 'put', {
        value: (content: DeclarativeContent) => {
          if (returned) late.push(`'${content.typeId}' ${JSON.stringify(content.key)}`);
          return put(content);
        },
      });
      return stage;
    },
  } as AnyImporterPlugin;
}
