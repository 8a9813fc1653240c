import type { AnyImporterPlugin, ImportConduit, SyncContext, UnitInput } from '@tributary/plugin-api';
import { canonicalJson } from './unit-snapshot.js';

/** Units handed to the conduit twice in one sync with other content, or sharing a relative path. */
export interface ConduitClash {
  readonly kind: 'key' | 'path';
  readonly call: string;
  readonly unit: string;
  readonly earlier: string;
  readonly relativePath?: string;
  readonly difference?: string;
}

const SAVING = new Set(['saveUnits', 'addOrUpdateUnits']);

/**
 * The conduit-style plugin, its conduit noting every unit handed to `saveUnits` / `addOrUpdateUnits`
 * in one sync: a unit key given again with other metadata or files, and a relative path given to two
 * keys, are noted in `clashes` (the host upserts by key, so the later one silently wins, and an
 * export keeps one file per path). The same unit given again with the same content is fine.
 */
export function watchingConduitClashes(plugin: AnyImporterPlugin, clashes: ConduitClash[]): AnyImporterPlugin {
  const sync = plugin.sync!;
  return {
    ...plugin,
    sync: (conduit: ImportConduit, config: unknown, ctx: SyncContext<unknown>) => {
      const byKey = new Map<string, { metadata: string; files: string; call: string }>();
      const byPath = new Map<string, string>();
      const watched = new Proxy(conduit, {
        get(target, property) {
          const value: unknown = Reflect.get(target, property, target);
          if (typeof value !== 'function') return value;
          if (!SAVING.has(String(property))) return (value as (...a: unknown[]) => unknown).bind(target);
          return (units: readonly UnitInput[]) => {
            const call = `${String(property)}() call #${++calls}`;
            for (const unit of Array.isArray(units) ? units : []) note(unit, call);
            return (value as (u: readonly UnitInput[]) => unknown).call(target, units);
          };
        },
      });
      let calls = 0;
      const note = (unit: UnitInput, call: string): void => {
        const identity = `'${unit.typeId}' ${canonicalJson(unit.key)}`;
        const metadata = unit.metadataJson !== undefined ? canonicalJson(safeParse(unit.metadataJson)) : canonicalJson(unit.metadata ?? {});
        const files = canonicalJson((unit.artifacts ?? []).map((a) => ({ relativePath: a.relativePath, sha256: a.sha256 ?? a.digests?.sha256, size: a.size })).sort((x, y) => (x.relativePath < y.relativePath ? -1 : 1)));
        const earlier = byKey.get(identity);
        if (earlier) {
          if (earlier.metadata !== metadata || earlier.files !== files) {
            const difference = earlier.metadata !== metadata ? `metadata ${earlier.metadata}, then ${metadata}` : `files ${earlier.files}, then ${files}`;
            clashes.push({ kind: 'key', call, unit: identity, earlier: earlier.call, difference });
          }
          return;
        }
        byKey.set(identity, { metadata, files, call });
        for (const artifact of unit.artifacts ?? []) {
          const owner = byPath.get(artifact.relativePath);
          if (owner !== undefined && owner !== identity) clashes.push({ kind: 'path', call, unit: identity, earlier: owner, relativePath: artifact.relativePath });
          else byPath.set(artifact.relativePath, identity);
        }
      };
      return sync(watched, config, ctx);
    },
  } as AnyImporterPlugin;
}

function safeParse(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return json;
  }
}
