import type { AnyImporterPlugin, FirstStageContext, ImportConduit, RemoteFetcher, Stage, SyncContext } from '@tributary/plugin-api';

/** Calls by which a plugin hands units to the host. */
const EMITTING = new Set(['put', 'saveUnits', 'addOrUpdateUnits', 'associateUnits']);

/** What an instrumented plugin did, as the kit sees it from between the plugin and the host. */
export interface PluginActivity {
  /** Calls the plugin started after its sync was cancelled, by name (`put`, `saveUnits`, `fetcher.download`, …). */
  readonly afterCancel: Map<string, number>;
}

/**
 * The same plugin, with its conduit, fetcher and stages' `put()` observed: the kit learns each time
 * the plugin emits units (before cancellation), and what it still calls once its sync's signal is aborted.
 */
export function instrumentPlugin(plugin: AnyImporterPlugin, hooks: { onEmission?: () => void } = {}): { plugin: AnyImporterPlugin; activity: PluginActivity } {
  const activity: PluginActivity = { afterCancel: new Map() };
  const observe = (name: string, signal: AbortSignal): void => {
    if (signal.aborted) {
      activity.afterCancel.set(name, (activity.afterCancel.get(name) ?? 0) + 1);
      return;
    }
    if (EMITTING.has(name)) hooks.onEmission?.();
  };
  const wrapFetcher = (fetcher: RemoteFetcher, signal: AbortSignal): RemoteFetcher => ({
    download(url, expected, downloadSignal) {
      observe('fetcher.download', signal);
      return fetcher.download(url, expected, downloadSignal);
    },
    ...(fetcher.transferLimit !== undefined ? { transferLimit: fetcher.transferLimit } : {}),
  });
  const wrapConduit = (conduit: ImportConduit, signal: AbortSignal): ImportConduit =>
    new Proxy(conduit, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          observe(String(property), signal);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  const wrapContext = <C extends SyncContext<unknown>>(ctx: C): C => {
    const conduit = 'conduit' in ctx ? { conduit: wrapConduit((ctx as unknown as FirstStageContext).conduit, ctx.signal) } : {};
    return { ...ctx, fetcher: wrapFetcher(ctx.fetcher, ctx.signal), ...conduit };
  };
  const wrapStage = (stage: Stage, signal: AbortSignal): Stage => {
    const put = stage.put.bind(stage);
    Object.defineProperty(stage, 'put', {
      value: (content: Parameters<Stage['put']>[0]) => {
        observe('put', signal);
        return put(content);
      },
    });
    return stage;
  };

  const stages = plugin.stages?.map((insertion) => ({
    ...insertion,
    create: (ctx: FirstStageContext<unknown>) => wrapStage(insertion.create(wrapContext(ctx)), ctx.signal),
  }));
  const instrumented = plugin.firstStage
    ? { ...plugin, ...(stages ? { stages } : {}), firstStage: (ctx: FirstStageContext<unknown>) => wrapStage(plugin.firstStage!(wrapContext(ctx)), ctx.signal) }
    : { ...plugin, ...(stages ? { stages } : {}), sync: (conduit: ImportConduit, config: unknown, ctx: SyncContext<unknown>) => plugin.sync!(wrapConduit(conduit, ctx.signal), config, wrapContext(ctx)) };
  return { plugin: instrumented as AnyImporterPlugin, activity };
}
