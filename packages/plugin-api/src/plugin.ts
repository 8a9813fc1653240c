import type { ContentTypeDefinition, DownloadPolicy, JsonSchema } from './content.js';
import type { ImportConduit } from './conduit.js';
import type { RemoteFetcher } from './fetch.js';
import type { SyncReport } from './report.js';
import type { PublisherDefinition } from './publish.js';
import type { Stage } from './stage.js';
import { ErrorCodes, TributaryError } from './errors.js';

/** The version of the host API this copy of plugin-api describes. Plugins declare a semver range of it. */
export const HOST_API_VERSION = '1.0.0';

export const IMPORTER_PLUGIN_TYPE = '@tributary/ImporterPlugin' as const;

/** Settings of one sync, fixed before the importer runs. */
export interface SyncSettings {
  /** The feed: the upstream repository's base url (or manifest url, as the importer defines). */
  readonly url: string;
  readonly policy: DownloadPolicy;
  /** Remove units that disappeared upstream (user-added units are kept). */
  readonly mirror: boolean;
  /** Skip the early-finish shortcut and compare everything. */
  readonly force: boolean;
}

/** A logger that never sees credentials: urls are redacted by the host before they reach it. */
export interface SyncLog {
  info(message: string): void;
  warn(message: string): void;
}

/** Everything an importer gets besides its conduit. */
export interface SyncContext<Config = unknown> {
  readonly settings: SyncSettings;
  readonly config: Config;
  readonly signal: AbortSignal;
  readonly log: SyncLog;
  readonly fetcher: RemoteFetcher;
  /** Per-repository scratch directory (same as the conduit's). */
  readonly workingDir: string;
  /**
   * Records a fingerprint of upstream (a manifest digest, repomd's checksum) for this sync, and
   * answers whether the sync may finish early: true when the last successful sync with the same
   * settings recorded the same fingerprint and the sync is not forced. On true the host marks the
   * sync finished early with `reason`, keeps the repository's version as it is, and the importer
   * should emit nothing more and return.
   */
  finishEarlyIfUnchanged(fingerprint: string, reason: string): boolean;
  /**
   * Tells the host how far the importer is through `what` (its index: `done` of `total` bytes
   * read), for progress displays. A host may leave it out: call it as `ctx.reportProgress?.(…)`,
   * as often as convenient (the host only keeps the latest).
   */
  readonly reportProgress?: (what: string, done: number, total: number) => void;
}

/** Context of a pipeline-style importer's first stage. */
export interface FirstStageContext<Config = unknown> extends SyncContext<Config> {
  readonly conduit: ImportConduit;
  /**
   * Keeps in the version being written the content the repository's base version holds from
   * these upstream records (`source` texts, as DeclarativeContentInit.source gives them) under this
   * sync's settings, while nothing rewrote their units since, and says which it kept: the stage
   * need not build content for those. For a large index that changed little, this is the cheap
   * way through a re-sync, forced or not. Kept content passes through no stage, so nothing can
   * await it: build the content others may await. Absent, or false for every record, when the host
   * cannot tell (no base version, a store without provenance, or a plugin stage that must see all
   * content).
   */
  keepUnchanged?(sources: readonly string[]): Promise<boolean[]>;
}

/** Where a plugin's own stage goes in the default pipeline: before or after a default stage, by name. */
export interface StageInsertion {
  readonly before?: DefaultStageName;
  readonly after?: DefaultStageName;
  create(ctx: FirstStageContext<unknown>): Stage;
}

export type DefaultStageName =
  | 'QueryExistingContents'
  | 'QueryExistingArtifacts'
  | 'ArtifactDownloader'
  | 'ArtifactSaver'
  | 'ContentSaver'
  | 'RemoteArtifactSaver'
  | 'ResolveContentFutures'
  | 'ContentAssociation'
  | 'ContentUnassociation';

/** What a conduit-style `sync` may return; the host adds counts it observed itself. */
export interface SyncResult {
  readonly log?: readonly string[];
}

interface ImporterDefinitionBase<Config> {
  /** Unique plugin name; also what the CLI's `--importer` names. */
  readonly name: string;
  /** The plugin's own version. */
  readonly version: string;
  /** Semver range of HOST_API_VERSION the plugin works with, e.g. `^1.0.0`. */
  readonly hostApi: string;
  readonly contentTypes: readonly ContentTypeDefinition[];
  /** JSON schema of the plugin's per-repository config; validated (with defaults applied) before any sync. */
  readonly configSchema?: JsonSchema;
  readonly description?: string;
  /** Extra stages to insert into the default pipeline (pipeline-style importers only). */
  readonly stages?: readonly StageInsertion[];
  /**
   * Lays out a repository version as the file tree `export` writes and `tributary serve` serves.
   * Without one, the host publishes every unit file at its own relative path.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly publisher?: PublisherDefinition<any>;
  /** Phantom field carrying the config type. */
  readonly __config?: Config;
}

export interface PipelineImporterDefinition<Config> extends ImporterDefinitionBase<Config> {
  /** Builds the first stage: it reads upstream and `put()`s a DeclarativeContent per unit. */
  readonly firstStage: (ctx: FirstStageContext<Config>) => Stage;
  readonly sync?: undefined;
}

export interface ConduitImporterDefinition<Config> extends ImporterDefinitionBase<Config> {
  /** Full control: the importer drives the conduit itself (the seed's six steps). */
  readonly sync: (conduit: ImportConduit, config: Config, ctx: SyncContext<Config>) => Promise<SyncResult | void>;
  readonly firstStage?: undefined;
}

export type ImporterDefinition<Config = unknown> = PipelineImporterDefinition<Config> | ConduitImporterDefinition<Config>;

/** A plugin as the host receives it: the definition plus the brand the host checks. */
export type ImporterPlugin<Config = unknown> = ImporterDefinition<Config> & {
  readonly $$type: typeof IMPORTER_PLUGIN_TYPE;
  /** The plugin-api version the plugin was built with. */
  readonly apiVersion: string;
};

/**
 * Defines an importer plugin. The result is a plain branded object; export it as the package's
 * default export (or a named `plugin` export) so `tributary --plugin` can load it.
 *
 * @example
 * ```ts
 * export default defineImporter({
 *   name: 'notes', version: '1.0.0', hostApi: '^1.0.0',
 *   contentTypes: [{ id: 'notes.note', keyFields: ['title'] }],
 *   firstStage: (ctx) => new NotesFirstStage(ctx),
 * });
 * ```
 */
export function defineImporter<Config = unknown>(definition: ImporterDefinition<Config>): ImporterPlugin<Config> {
  const hasFirst = typeof definition.firstStage === 'function';
  const hasSync = typeof definition.sync === 'function';
  if (hasFirst === hasSync) {
    throw new TributaryError(
      ErrorCodes.PLUGIN_DEFINITION,
      `importer '${String(definition.name)}' must define exactly one of firstStage or sync (found ${hasFirst ? 'both' : 'neither'})`,
    );
  }
  return Object.freeze({ ...definition, $$type: IMPORTER_PLUGIN_TYPE, apiVersion: HOST_API_VERSION });
}

export type { SyncReport };

/** A plugin of any config type, as hosts hold them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyImporterPlugin = ImporterPlugin<any>;
