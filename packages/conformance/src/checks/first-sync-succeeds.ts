import { ErrorCodes, rootTributaryError, type AnyImporterPlugin, type DeclarativeContent, type FirstStageContext, type Stage } from '@tributary/plugin-api';
import { conformanceFailure } from '../conformance-failure.js';
import type { ConformanceContext } from '../conformance-context.js';
import { watchingConduitClashes, type ConduitClash } from '../conduit-emissions.js';

/** How long the kit waits after a sync for content a detached promise still puts. */
const LATE_PUT_WAIT_MS = 300;

/**
 * Rule `first-sync-succeeds`: an immediate sync of each fixture state into an empty repository
 * succeeds. The host's own checks (duplicate keys or relative paths, put() after run() returned,
 * schema, frozen keys and metadata, the progress watchdog) fail it when the importer loses data; the
 * kit adds one the host cannot make once the sync is over: no put() after the first stage returned.
 * A conduit-style importer (`sync(conduit, …)`) gets the same duplicate checks from the host, on
 * what it saves; the kit watches its saves as well, so that a failure names both units (the host
 * remembers a number per unit, not its key) and shows the difference, and so that a difference the
 * host's sampled signature misses (deep inside a long text) still fails.
 * Every other rule that needs a sync reports a failure here once, briefly, instead of its own.
 */
export async function checkFirstSyncSucceeds(ctx: ConformanceContext): Promise<void> {
  const rule = 'first-sync-succeeds';
  if (!ctx.plugin.firstStage) {
    try {
      await ctx.survey('initial', rule);
      await ctx.survey('changed', rule);
    } catch (failure) {
      // the host refused a duplicate, naming the earlier unit by its number: the kit's watch names it
      if (hostRefusal(failure) !== undefined) await checkConduitClashes(ctx);
      throw failure;
    }
    await checkConduitClashes(ctx);
    return;
  }
  await ctx.survey('initial', rule);
  await ctx.survey('changed', rule);
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

/**
 * The units a conduit-style importer saves in a sync of each state, watched by the kit: a key saved
 * again with other content, or one relative path saved for two keys, fails the rule naming both
 * units, whether the host refused the sync for it or (a difference its signature missed) not. A
 * sync failing for another reason is the survey's to report.
 */
async function checkConduitClashes(ctx: ConformanceContext): Promise<void> {
  const rule = 'first-sync-succeeds';
  for (const state of ['initial', 'changed'] as const) {
    const clashes: ConduitClash[] = [];
    const plugin = watchingConduitClashes(ctx.plugin, clashes);
    let refusal: string | undefined;
    await ctx.withScope(async (scope) => {
      const testHost = await scope.host({ plugin });
      const upstream = await scope.upstream(state);
      await ctx.sync(testHost, 'conduit-clashes', upstream).catch((error: unknown) => {
        refusal = hostRefusal(error);
      });
    });
    const clash = clashes[0];
    if (!clash) continue;
    const more = clashes.length > 1 ? ` (and ${clashes.length - 1} more)` : '';
    if (clash.kind === 'key') {
      conformanceFailure(
        rule,
        `in a sync of the fixture's ${state} state, the importer saved unit ${clash.unit} twice with different content: ${clash.earlier}, then ${clash.call} (${clash.difference})${more}. ` +
          (refusal !== undefined ? `The host refused the sync (${refusal}): it upserts by key, so the later one would silently replace the earlier.\n` : 'The host upserts by key, so the later one silently replaced the earlier.\n') +
          'Likely cause: the same upstream record is read twice (two pages, a mirror list) and built differently, or the key lacks a field that tells two records apart',
      );
    }
    conformanceFailure(
      rule,
      `in a sync of the fixture's ${state} state, the importer gave relative path '${clash.relativePath}' to two units: ${clash.earlier}, then ${clash.unit} (${clash.call})${more}. ` +
        (refusal !== undefined ? `The host refused the sync (${refusal}): an export or a publication keeps one file per path, so the other would be silently lost.\n` : 'An export or a publication keeps one file per path, so the other is silently lost.\n') +
        'Likely cause: relativePath is built from too little (the directory or project name without the file name or version)',
    );
  }
}

/** `TRIBUTARY_ERR_PLUGIN_MISBEHAVED, rule duplicate-key` when the host refused a duplicate; undefined for another failure. */
function hostRefusal(error: unknown): string | undefined {
  const details = (rootTributaryError(error)?.details ?? {}) as { rule?: unknown };
  if (details.rule !== 'duplicate-key' && details.rule !== 'duplicate-relative-path') return undefined;
  return `${ErrorCodes.PLUGIN_MISBEHAVED}, ${String(details.rule)}`;
}
