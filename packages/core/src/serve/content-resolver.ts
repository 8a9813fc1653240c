import type {
  ContentStore,
  DistributionRecord,
  PublicationEntry,
  PublicationRecord,
  RepositoryRecord,
} from '../store/content-store.js';
import type { PublicationService, PublisherChoice } from '../publish/publication-service.js';

export interface ResolverLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

interface Snapshot {
  readonly at: number;
  readonly byBasePath: Map<string, DistributionRecord>;
  readonly all: readonly DistributionRecord[];
  readonly maxDepth: number;
}

/** What a request under a distribution is served from. */
export interface Served {
  readonly distribution: DistributionRecord;
  readonly repository: RepositoryRecord;
  readonly publication: PublicationRecord;
  /** The newer version's publication being built while `publication` (the previous) is served. */
  readonly newer?: Promise<PublicationRecord>;
}

const ENTRY_CACHE = 50_000;
/** A version that failed to publish is tried again after this long. */
const RETRY_FAILED_MS = 30_000;

/**
 * Maps request paths to distributions, distributions to the publication they serve now, and paths
 * to publication entries, with short-lived caches: distributions and repositories are re-read at
 * most every `ttlMs` (so a commit or a distribution change shows within that), publications and
 * their entries never change and are cached by id.
 *
 * A distribution that follows the latest version serves the newest version that has a complete
 * publication: when a sync commits, the new version is published in the background while the
 * previous publication is still served, and each request is answered from one publication only.
 */
export class ContentResolver {
  private snapshot: Snapshot | undefined;
  private loading: Promise<Snapshot> | undefined;
  private readonly repositories = new Map<string, { at: number; record: RepositoryRecord | undefined }>();
  private readonly publicationsByVersion = new Map<string, PublicationRecord>();
  private readonly failures = new Map<string, { at: number; error: unknown }>();
  private readonly entries = new Map<string, PublicationEntry | null>();
  private readonly choices = new Map<string, PublisherChoice>();

  constructor(
    private readonly store: ContentStore,
    private readonly publications: PublicationService,
    private readonly log: ResolverLog,
    private readonly ttlMs = 1000,
  ) {}

  /** The distribution a path's segments fall under and the segments after its base path. */
  async distributionFor(segments: readonly string[]): Promise<{ distribution: DistributionRecord; rest: string[] } | undefined> {
    return underBasePath(await this.distributions(), segments);
  }

  /**
   * What `distributionFor`, `served` and `entry` would answer for a file's path, when every cache
   * they read holds it now (and is fresh): no await, no store query. Undefined sends the request
   * the long way, which fills the caches.
   */
  peek(segments: readonly string[]): { readonly served: Served; readonly entry: PublicationEntry } | undefined {
    const now = Date.now();
    const snapshot = this.snapshot;
    if (!snapshot || now - snapshot.at >= this.ttlMs) return undefined;
    const found = underBasePath(snapshot, segments);
    if (!found || found.rest.length === 0) return undefined;
    const { distribution } = found;
    const cached = this.repositories.get(distribution.repoId);
    const repository = cached?.record;
    if (!repository || now - cached.at >= this.ttlMs) return undefined;
    const version = distribution.version ?? repository.latestVersion;
    const choice = this.choices.get(choiceKey(repository, distribution));
    if (!choice || version > repository.latestVersion) return undefined;
    const publication = this.publicationsByVersion.get(`${repository.id}\0${version}\0${choice.key}`);
    if (!publication) return undefined;
    const entry = this.entries.get(`${publication.id}\0${found.rest.join('/')}`);
    if (!entry) return undefined;
    return { served: { distribution, repository, publication }, entry };
  }

  /** Next segments of base paths below `segments` (for listing `/content/…/` above distributions). */
  async basePathChildren(segments: readonly string[]): Promise<string[]> {
    const prefix = segments.length === 0 ? '' : `${segments.join('/')}/`;
    const children = new Set<string>();
    for (const d of (await this.distributions()).all) {
      if (d.basePath.startsWith(prefix)) children.add(d.basePath.slice(prefix.length).split('/')[0]!);
    }
    return [...children].sort();
  }

  /**
   * The repository and publication a distribution serves now; undefined when its repository is
   * gone. Throws the publisher's error when no version can be published.
   */
  async served(distribution: DistributionRecord): Promise<Served | undefined> {
    const repository = await this.repository(distribution.repoId);
    if (!repository) return undefined;
    const version = distribution.version ?? repository.latestVersion;
    if (version > repository.latestVersion) return undefined;
    const choice = this.publisherFor(repository, distribution);
    const cacheKey = `${repository.id}\0${version}\0${choice.key}`;
    const cached = this.publicationsByVersion.get(cacheKey);
    if (cached) return { distribution, repository, publication: cached };
    const exact = await this.store.findPublication(repository.id, choice.key, version, true);
    if (exact) {
      this.publicationsByVersion.set(cacheKey, exact);
      return { distribution, repository, publication: exact };
    }
    const failed = this.failures.get(cacheKey);
    const build =
      failed && Date.now() - failed.at < RETRY_FAILED_MS
        ? Promise.reject(failed.error)
        : this.publications.publishWith(repository, version, choice).then(
            (publication) => {
              this.failures.delete(cacheKey);
              this.publicationsByVersion.set(cacheKey, publication);
              return publication;
            },
            (error: unknown) => {
              if (!this.failures.has(cacheKey)) {
                this.log.warn({ repository: repository.name, version, error: errorFields(error) }, `cannot publish version ${version} of '${repository.name}'`);
              }
              this.failures.set(cacheKey, { at: Date.now(), error });
              throw error;
            },
          );
    build.catch(() => undefined);
    if (distribution.version === null && version > 0) {
      // following the latest: serve the previous publication while the new one is built
      const previous = await this.store.findPublication(repository.id, choice.key, version - 1, false);
      if (previous) return { distribution, repository, publication: previous, newer: build };
    }
    return { distribution, repository, publication: await build };
  }

  /** The distribution's publisher, worked out (options validated and hashed) once per change of either. */
  private publisherFor(repository: RepositoryRecord, distribution: DistributionRecord): PublisherChoice {
    const key = choiceKey(repository, distribution);
    let choice = this.choices.get(key);
    if (!choice) {
      choice = this.publications.publisherFor(repository, distribution.publishOptions);
      if (this.choices.size > 1000) this.choices.clear();
      this.choices.set(key, choice);
    }
    return choice;
  }

  /** One entry of a publication (cached: publications never change). */
  async entry(publicationId: string, path: string): Promise<PublicationEntry | undefined> {
    const key = `${publicationId}\0${path}`;
    if (this.entries.has(key)) {
      const hit = this.entries.get(key)!;
      // refresh its place in the insertion-ordered map: the oldest is evicted first
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit ?? undefined;
    }
    const found = (await this.store.getPublicationEntry(publicationId, path)) ?? null;
    this.entries.set(key, found);
    if (this.entries.size > ENTRY_CACHE) this.entries.delete(this.entries.keys().next().value!);
    return found ?? undefined;
  }

  private async repository(id: string): Promise<RepositoryRecord | undefined> {
    const cached = this.repositories.get(id);
    if (cached && Date.now() - cached.at < this.ttlMs) return cached.record;
    const record = await this.store.getRepositoryById(id);
    // a slow read begun before a commit must not replace a newer answer (clients would see the
    // version go back): the higher version wins
    const current = this.repositories.get(id)?.record;
    const newest = current && record && current.latestVersion > record.latestVersion ? current : record;
    this.repositories.set(id, { at: Date.now(), record: newest });
    return newest;
  }

  private async distributions(): Promise<Snapshot> {
    if (this.snapshot && Date.now() - this.snapshot.at < this.ttlMs) return this.snapshot;
    this.loading ??= this.store
      .listDistributions()
      .then((all) => {
        const byBasePath = new Map(all.map((d) => [d.basePath, d]));
        const maxDepth = Math.max(0, ...all.map((d) => d.basePath.split('/').length));
        this.snapshot = { at: Date.now(), byBasePath, all, maxDepth };
        return this.snapshot;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }
}

function underBasePath(snapshot: Snapshot, segments: readonly string[]): { distribution: DistributionRecord; rest: string[] } | undefined {
  for (let depth = Math.min(segments.length, snapshot.maxDepth); depth >= 1; depth--) {
    const distribution = snapshot.byBasePath.get(depth === segments.length ? segments.join('/') : segments.slice(0, depth).join('/'));
    if (distribution) return { distribution, rest: segments.slice(depth) };
  }
  return undefined;
}

/** A distribution's publisher choice is worked out again when the repository's importer or the distribution changes. */
function choiceKey(repository: RepositoryRecord, distribution: DistributionRecord): string {
  return `${repository.id}\0${repository.importer}\0${distribution.name}\0${distribution.updatedAt}`;
}

export function errorFields(error: unknown): Record<string, unknown> {
  if (error && typeof error === 'object' && 'code' in error) {
    const e = error as { code: unknown; message?: unknown };
    return { code: e.code, message: e.message };
  }
  return { message: error instanceof Error ? error.message : String(error) };
}
