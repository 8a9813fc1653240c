import type { ContentTypeDefinition, ImporterPlugin } from '@tributary/plugin-api';

/**
 * Injection tokens for host services that are interfaces rather than classes, and those
 * interfaces. This file sits at the bottom of core's import graph: it imports nothing of core, so
 * any layer can depend on a host service without an arrow running back up to the host.
 */
export const CONTENT_STORE = Symbol.for('tributary.ContentStore');
export const HOST_OPTIONS = Symbol.for('tributary.HostOptions');
export const PLUGINS = Symbol.for('tributary.Plugins');

export interface HostOptionsToken {
  readonly batchSize: number;
  readonly leaseTtlMs: number;
  /** Identifies this host process in leases (hostname:pid:random). */
  readonly hostId: string;
}

/** What a sync needs of the registered plugins (the host's PluginRegistry). */
export interface PluginCatalog {
  /** The registered importer of that name; TRIBUTARY_ERR_PLUGIN_NOT_FOUND otherwise. */
  get(name: string): ImporterPlugin;
  /** The importer's config merged over its defaults and checked against its schema. */
  validateConfig(pluginName: string, config: unknown): Record<string, unknown>;
  /** A declared content type; TRIBUTARY_ERR_UNKNOWN_CONTENT_TYPE otherwise. */
  contentType(typeId: string): ContentTypeDefinition;
  /** Checks a unit's metadata against its type's schema; TRIBUTARY_ERR_UNIT_METADATA_INVALID on failure. */
  validateMetadata(typeId: string, metadata: unknown): void;
  /** Publish options checked against the importer's publisher's schema (defaults filled in). */
  validatePublishOptions(pluginName: string, options: unknown): Record<string, unknown>;
}
