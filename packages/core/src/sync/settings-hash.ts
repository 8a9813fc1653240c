import { createHash } from 'node:crypto';
import { canonicalJson, type SyncSettings } from '@tributary/plugin-api';

/**
 * Hash of what makes two syncs "the same settings" for the early-finish shortcut. The importer's
 * version counts: an upgraded importer may build other content from the same index, so its first
 * sync does not finish early.
 */
export function settingsHash(importer: { readonly name: string; readonly version: string }, settings: SyncSettings, config: unknown): string {
  return createHash('sha256')
    .update(canonicalJson({ importer: importer.name, importerVersion: importer.version, url: settings.url, policy: settings.policy, mirror: settings.mirror, config }))
    .digest('hex');
}
