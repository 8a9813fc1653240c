import { createHash } from 'node:crypto';
import type { SyncSettings } from '@tributary/plugin-api';

/**
 * Hash of what makes two syncs "the same settings" for the early-finish shortcut. The importer's
 * version counts: an upgraded importer may build other content from the same index, so its first
 * sync does not finish early.
 */
export function settingsHash(importer: { readonly name: string; readonly version: string }, settings: SyncSettings, config: unknown): string {
  return createHash('sha256')
    .update(stableJson({ importer: importer.name, importerVersion: importer.version, url: settings.url, policy: settings.policy, mirror: settings.mirror, config }))
    .digest('hex');
}

/** JSON with object keys sorted, so equal values always give equal text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
