import 'reflect-metadata';
import { hostname } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import type { AnyImporterPlugin } from '@tributary/plugin-api';
import { PluginRegistry, type PluginEntry } from './plugin-registry.js';
import { ArtifactStorage } from '../storage/artifact-storage.js';
import type { ContentStore } from '../store/content-store.js';
import { openStore, type StoreSpec } from '../store/open-store.js';
import { Host } from './host.js';
import { HostEvents } from '../events/host-events.js';
import { CONTENT_STORE, HOST_OPTIONS, PLUGINS, type HostOptionsToken } from '../tokens.js';

export interface CreateHostOptions {
  /** The catalog; defaults to `{ sqlite: <storageRoot>/catalog.db }`. */
  readonly store?: StoreSpec;
  /** Root of artifact storage, sync scratch space and working directories. */
  readonly storageRoot: string;
  /** Importers to register: plugin objects, or `{ plugin, config }` with a host-level default config. */
  readonly plugins?: readonly PluginOption[];
  /**
   * Importers to load and register after `plugins`, the first time the host needs any importer or
   * content type (see {@link PluginRegistry.defer}): what a command that needs none should not load.
   */
  readonly loadPlugins?: () => readonly PluginOption[];
  /**
   * The catalog, already being opened by {@link openStore} (instead of `store`): a caller that
   * starts opening it first has the catalog's thread start while the host's modules load. The
   * host takes it over: it is closed with the host, or at once if no host comes of it.
   */
  readonly openingStore?: Promise<ContentStore>;
  /** Where compiled plugin schemas are kept across processes (see {@link PluginRegistryOptions}); none by default. */
  readonly schemaCacheDir?: string;
  /** Units per store round trip (default 1000). */
  readonly batchSize?: number;
  /** Sync lease time to live in ms (default 60 s; renewed every third of it while a sync runs). */
  readonly leaseTtlMs?: number;
}

/**
 * Creates a host: opens the store, prepares storage, registers plugins (each checked: brand → host
 * API range → config schema → content types). Host services live in a tsyringe container of their
 * own; each sync gets a child container holding its conduit.
 *
 * @example
 * ```ts
 * const host = await createHost({ storageRoot: '/var/lib/tributary', plugins: [fileImporter] });
 * await host.createRepository({ name: 'isos' });
 * await host.sync('isos', { importer: 'file', url: 'https://example.org/isos/PULP_MANIFEST' });
 * ```
 */
export async function createHost(options: CreateHostOptions): Promise<Host> {
  const storageRoot = path.resolve(options.storageRoot);
  const registry = new PluginRegistry(options.schemaCacheDir !== undefined ? { schemaCacheDir: options.schemaCacheDir } : {});
  const storage = new ArtifactStorage(storageRoot);
  let store: ContentStore;
  // its failure is awaited below; until then it must not count as an unhandled rejection
  options.openingStore?.catch(() => undefined);
  try {
    for (const entry of options.plugins ?? []) {
      const { plugin, config } = pluginEntry(entry);
      registry.register(plugin, config);
    }
    const load = options.loadPlugins;
    if (load) registry.defer(() => load().map(pluginEntry));
    await storage.init();
    store = await (options.openingStore ?? openStore(options.store ?? { sqlite: path.join(storageRoot, 'catalog.db') }));
  } catch (error) {
    // openStore closes a store that failed to open; one that opened is ours to close
    options.openingStore?.then((opened) => opened.close()).catch(() => undefined);
    throw error;
  }
  const hostOptions: HostOptionsToken = {
    batchSize: options.batchSize ?? 1000,
    leaseTtlMs: options.leaseTtlMs ?? 60_000,
    hostId: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
  };
  return new Host(hostContainer({ store, storage, registry, options: hostOptions }));
}

/** An importer, or `{ plugin, config }` with a host-level default config. */
export type PluginOption = AnyImporterPlugin | { plugin: AnyImporterPlugin; config?: Record<string, unknown> };

function pluginEntry(entry: PluginOption): PluginEntry {
  if (entry && typeof entry === 'object' && 'plugin' in entry && !('$$type' in entry)) return { plugin: entry.plugin, config: entry.config ?? {} };
  return { plugin: entry };
}

/**
 * The container of one host's services: what {@link createHost} builds a Host on, and what each
 * sync builds its child container from (createSyncSession). The host's events (HostEvents) are
 * created here unless given.
 */
export function hostContainer(services: { store: ContentStore; storage: ArtifactStorage; registry: PluginRegistry; options: HostOptionsToken; events?: HostEvents }): DependencyContainer {
  const container = rootContainer.createChildContainer();
  container.register(CONTENT_STORE, { useValue: services.store });
  container.register(ArtifactStorage, { useValue: services.storage });
  container.register(PluginRegistry, { useValue: services.registry });
  container.register(PLUGINS, { useValue: services.registry });
  container.register(HOST_OPTIONS, { useValue: services.options });
  container.register(HostEvents, { useValue: services.events ?? new HostEvents(services.options.hostId) });
  return container;
}
