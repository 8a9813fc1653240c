import type { AnyImporterPlugin, DeclarativeContent, FirstStageContext, Stage } from '@tributary/plugin-api';
import { conformanceFailure } from '../conformance-failure.js';
import type { ConformanceContext } from '../conformance-context.js';
import { canonicalJson } from '../unit-snapshot.js';

/** How many differing sources a failure names. */
const SHOWN = 3;

/**
 * Rule `source-deterministic`: content that names its upstream record (`source`) is the same in
 * every sync that meets that record. The host skips content whose record it has met before under
 * the same settings (content provenance), so an importer whose content changes while its source
 * does not would have those changes ignored; and the other rules' re-syncs could not see it. The
 * kit syncs the fixture's initial state twice with provenance out of the importer's reach (no
 * `keepUnchanged`), records what its first stage builds for each source, and compares.
 */
export async function checkSourceDeterministic(ctx: ConformanceContext): Promise<void> {
  const rule = 'source-deterministic';
  if (!ctx.plugin.firstStage) return; // a conduit-style importer gives no sources
  const syncs: Map<string, string>[] = [];
  const plugin = recordingSources(ctx.plugin, () => syncs[syncs.length - 1]!);
  await ctx.withScope(async (scope) => {
    const testHost = await scope.host({ plugin });
    const upstream = await scope.upstream('initial');
    for (const which of ['first', 'second']) {
      syncs.push(new Map());
      await ctx.syncExpectingSuccess(rule, `the ${which} sync of the fixture's initial state`, testHost, 'sources', upstream, { mirror: true });
    }
  });
  const [first, second] = syncs as [Map<string, string>, Map<string, string>];
  const differing = [...first].filter(([source, content]) => second.has(source) && second.get(source) !== content);
  if (differing.length === 0) return;
  const shown = differing.slice(0, SHOWN).map(([source, content]) => `source ${JSON.stringify(source)} built ${content} in the first sync and ${second.get(source)} in the second`);
  conformanceFailure(
    rule,
    [
      `${differing.length} of ${first.size} contents that name their source were built differently from the same source in two syncs of the same upstream:`,
      ...shown,
      'Give `source` only when the content is a pure function of that record and the sync\'s settings: no timestamps, counters or other state. ' +
        'The host skips content whose source it has met before, so differences like these would be ignored.',
    ].join('\n'),
  );
}

/** The plugin, with its first stage building every content (no `keepUnchanged`) and each content's source noted with what it built. */
function recordingSources(plugin: AnyImporterPlugin, current: () => Map<string, string>): AnyImporterPlugin {
  const firstStage = plugin.firstStage!;
  return {
    ...plugin,
    firstStage: (ctx: FirstStageContext<never>) => {
      const { keepUnchanged: _hidden, ...rest } = ctx;
      const stage: Stage = firstStage(rest as FirstStageContext<never>);
      const put = stage.put.bind(stage);
      Object.defineProperty(stage, 'put', {
        value: (content: DeclarativeContent) => {
          if (content.source !== undefined) current().set(content.source, describe(content));
          return put(content);
        },
      });
      return stage;
    },
  } as AnyImporterPlugin;
}

function describe(content: DeclarativeContent): string {
  return canonicalJson({
    typeId: content.typeId,
    key: content.key,
    metadata: content.metadata,
    artifacts: content.artifacts.map((a) => ({ relativePath: a.relativePath, urls: a.urls, size: a.size ?? null, digests: a.digests, deferredDownload: a.deferredDownload ?? null })),
  });
}
