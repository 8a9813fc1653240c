import { hash } from 'node:crypto';
import { canonicalJson, HOST_API_VERSION, type SyncSettings } from '@tributary/plugin-api';
import { sourceDigestOf, type SourceDigest } from '../store/unit-fingerprint.js';

/**
 * Bump when the host changes how it turns content into the rows it stores (encoding, checks,
 * defaults): sources recorded by older hosts then match nothing, and their units go the long way
 * once, which records them again.
 */
const SOURCE_RECORDING = 1;

/**
 * What a content source digest covers besides the source text: everything else a unit's stored
 * row depends on. Two syncs whose contexts differ (another importer or importer version, config,
 * feed url or policy, another host) never take each other's records for their own; whether a sync
 * mirrors does not change a row, so it is not part of it.
 */
export function sourceContextOf(
  importer: { readonly name: string; readonly version: string },
  settings: Pick<SyncSettings, 'url' | 'policy'>,
  config: unknown,
): string {
  const context = canonicalJson([SOURCE_RECORDING, HOST_API_VERSION, importer.name, importer.version, settings.url, settings.policy, config]);
  return hash('sha256', context, 'hex');
}

/**
 * The digest recorded for, and looked up by, content built from `source` (its upstream record,
 * DeclarativeContentInit.source) in a sync of `context`.
 */
export function sourceDigest(context: string, source: string): SourceDigest {
  return sourceDigestOf(hash('sha256', `${context}\u0000${source}`, 'binary'));
}
