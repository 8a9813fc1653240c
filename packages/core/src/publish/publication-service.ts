import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  canonicalJson,
  ErrorCodes,
  isTributaryError,
  TributaryError,
  type PublisherDefinition,
} from '@tributary/plugin-api';
import type { PluginCatalog } from '../tokens.js';
import type { ArtifactStorage } from '../storage/artifact-storage.js';
import type { ContentStore, PublicationRecord, RepositoryRecord } from '../store/content-store.js';
import { PublicationBuilder } from './publication-builder.js';

/** The publisher of repositories whose importer declares none: every unit file at its own relative path. */
export const DEFAULT_PUBLISHER: PublisherDefinition = {
  async publish(ctx) {
    for await (const units of ctx.units()) {
      await ctx.addArtifacts(units.flatMap((unit) => unit.artifacts.map((artifact) => ({ path: artifact.relativePath, artifact }))));
    }
  },
};

export interface PublishRequest {
  /** The version to publish (default: the latest). */
  readonly version?: number;
  /** Options for the repository's publisher (validated against its schema). */
  readonly options?: Readonly<Record<string, unknown>>;
  readonly signal?: AbortSignal;
}

/** Which publisher publishes a repository, with which options, and the key its publications carry. */
export interface PublisherChoice {
  readonly name: string;
  readonly definition: PublisherDefinition;
  readonly options: Record<string, unknown>;
  /** `<publisher>:<hash of the canonical options>`: publications are looked up by it. */
  readonly key: string;
}

export interface PublishLog {
  info(message: string): void;
  warn(message: string): void;
}

/**
 * Builds and finds publications. A version is published at most once per publisher and options
 * in this process at a time (concurrent callers share the build); a complete publication is reused.
 */
export class PublicationService {
  private readonly building = new Map<string, Promise<PublicationRecord>>();

  constructor(
    private readonly store: ContentStore,
    private readonly storage: ArtifactStorage,
    private readonly plugins: PluginCatalog,
    private readonly log: PublishLog = { info: () => undefined, warn: () => undefined },
  ) {}

  /** The repository's publisher and the key of its publications with `options`. */
  publisherFor(repository: RepositoryRecord, options: Readonly<Record<string, unknown>> = {}): PublisherChoice {
    if (repository.importer === null) {
      if (Object.keys(options).length > 0) {
        throw new TributaryError(ErrorCodes.CONFIG_INVALID, `repository '${repository.name}' has no importer, and the default publisher takes no options`);
      }
      return { name: 'default', definition: DEFAULT_PUBLISHER, options: {}, key: keyOf('default', {}) };
    }
    const plugin = this.plugins.get(repository.importer);
    const checked = this.plugins.validatePublishOptions(plugin.name, options);
    const definition = plugin.publisher ?? DEFAULT_PUBLISHER;
    const name = plugin.publisher ? plugin.name : 'default';
    return { name, definition, options: checked, key: keyOf(name, checked) };
  }

  /** The complete publication of the version (default latest), built now if there is none. */
  async publish(repository: RepositoryRecord, request: PublishRequest = {}): Promise<PublicationRecord> {
    const version = request.version ?? repository.latestVersion;
    const choice = this.publisherFor(repository, request.options);
    return this.publishWith(repository, version, choice, request.signal);
  }

  /** {@link publish} for a publisher already chosen. */
  async publishWith(repository: RepositoryRecord, version: number, choice: PublisherChoice, signal?: AbortSignal): Promise<PublicationRecord> {
    const existing = await this.store.findPublication(repository.id, choice.key, version, true);
    if (existing) return existing;
    const flightKey = `${repository.id}\0${version}\0${choice.key}`;
    let flight = this.building.get(flightKey);
    if (!flight) {
      flight = this.build(repository, version, choice, signal ?? new AbortController().signal).finally(() => this.building.delete(flightKey));
      this.building.set(flightKey, flight);
    }
    return flight;
  }

  private async build(repository: RepositoryRecord, version: number, choice: PublisherChoice, signal: AbortSignal): Promise<PublicationRecord> {
    const createdAt = new Date().toISOString();
    const id = await this.store.createPublication({
      repoId: repository.id,
      version,
      publisherKey: choice.key,
      publisher: choice.name,
      options: choice.options,
      createdAt,
    });
    const scopeId = `publish-${randomUUID()}`;
    await this.storage.createScope(scopeId, repository.id);
    const workingDir = path.join(await this.storage.workingDir(repository.id), scopeId);
    await mkdir(workingDir, { recursive: true });
    const label = `publisher '${choice.name}' of repository '${repository.name}' version ${version}`;
    const builder = new PublicationBuilder(this.store, this.storage, repository, version, id, scopeId, choice.options, signal, {
      info: (message) => this.log.info(`${label}: ${message}`),
      warn: (message) => this.log.warn(`${label}: ${message}`),
    }, workingDir);
    try {
      let result: Awaited<ReturnType<PublisherDefinition['publish']>>;
      try {
        result = await choice.definition.publish(builder);
      } catch (error) {
        if (isTributaryError(error)) throw error;
        throw new TributaryError(ErrorCodes.PUBLISH_FAILED, `${label} failed: ${(error as Error)?.message ?? String(error)}`, {
          cause: error,
          details: { repository: repository.name, version, publisher: choice.name },
        });
      }
      await builder.flush();
      const summary = {
        files: builder.files,
        bytes: builder.bytes,
        conflicts: builder.conflicts,
        info: { ...(result?.info ?? {}) },
        completedAt: new Date().toISOString(),
      };
      await this.store.completePublication(id, summary);
      if (builder.conflicts > 0) this.log.warn(`${label}: ${builder.conflicts} paths were claimed more than once; the first was kept`);
      return { id, repoId: repository.id, version, publisherKey: choice.key, publisher: choice.name, options: choice.options, createdAt, complete: true, summary };
    } catch (error) {
      await this.store.deletePublication(id).catch(() => undefined);
      throw error;
    } finally {
      await rm(workingDir, { recursive: true, force: true }).catch(() => undefined);
      await this.storage.dropScope(scopeId).catch(() => undefined);
    }
  }
}

function keyOf(name: string, options: Readonly<Record<string, unknown>>): string {
  return `${name}:${createHash('sha256').update(canonicalJson(options)).digest('hex').slice(0, 16)}`;
}
