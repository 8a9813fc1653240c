import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, TributaryError, type Digests } from '@tributary/plugin-api';
import { Downloader, type RemoteOptions } from '../download/index.js';
import type { ArtifactStorage } from '../storage/artifact-storage.js';
import { resolveInside } from '../storage/safe-relative-path.js';
import type { ContentStore, RepositoryRecord, RepoUnitView, UnitWrite } from '../store/content-store.js';

export interface ExportOptions {
  /** The version to export (default: the latest). */
  readonly version?: number;
  /** Fetch bytes of on-demand artifacts from their remotes (verified, then kept in storage). Default true. */
  readonly fetchMissing?: boolean;
  readonly remote?: RemoteOptions;
  readonly signal?: AbortSignal;
}

export interface ExportResult {
  readonly files: number;
  readonly bytes: number;
  /** On-demand artifacts fetched from their remotes during the export. */
  readonly fetched: number;
  /** Relative paths claimed by more than one unit; the first in (type, unit id) order was written. */
  readonly conflicts: number;
}

const FETCH_CONCURRENCY = 8;

/**
 * Writes a version's files (default: the latest's) under their relative paths. Each file is copied to a temporary
 * name in the target directory and renamed, so a reader never sees half a file.
 */
export async function exportRepository(
  store: ContentStore,
  storage: ArtifactStorage,
  repository: RepositoryRecord,
  directory: string,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const root = path.resolve(directory);
  await mkdir(root, { recursive: true });
  const scopeId = `export-${randomUUID()}`;
  await storage.createScope(scopeId);
  // on-demand fetches follow the sync's rule: no local file from a repository whose feed is not file:
  const downloader = new Downloader(storage, scopeId, options.remote ?? {}, repository.feedUrl ? { feedUrl: repository.feedUrl } : {});
  const written = new Set<string>();
  const result = { files: 0, bytes: 0, fetched: 0, conflicts: 0 };
  try {
    let page: RepoUnitView[] = [];
    for await (const unit of store.repoUnits(repository.id, options.version ?? repository.latestVersion, { pageSize: 500 })) {
      page.push(unit);
      if (page.length >= 500) {
        await exportPage(page);
        page = [];
      }
    }
    await exportPage(page);
    return result;
  } finally {
    await downloader.close().catch(() => undefined);
    await storage.dropScope(scopeId).catch(() => undefined);
  }

  async function exportPage(units: RepoUnitView[]): Promise<void> {
    const missing: { unit: RepoUnitView; relativePath: string; urls: readonly string[]; size: number | null; digests: Digests }[] = [];
    const copies: { relativePath: string; sha256: string; size: number | null }[] = [];
    for (const unit of units) {
      for (const artifact of unit.artifacts) {
        if (written.has(artifact.relativePath)) {
          result.conflicts++;
          continue;
        }
        written.add(artifact.relativePath);
        if (artifact.stored && artifact.sha256) copies.push({ relativePath: artifact.relativePath, sha256: artifact.sha256, size: artifact.size });
        else if (options.fetchMissing !== false && artifact.remoteUrls.length > 0) {
          missing.push({ unit, relativePath: artifact.relativePath, urls: artifact.remoteUrls, size: artifact.size, digests: artifact.digests });
        } else if (options.fetchMissing !== false) {
          throw new TributaryError(ErrorCodes.ARTIFACT_MISSING, `'${artifact.relativePath}' of repository '${repository.name}' has neither stored bytes nor a remote to fetch them from`);
        }
      }
    }
    const fetchedWrites: UnitWrite[] = [];
    for (let i = 0; i < missing.length; i += FETCH_CONCURRENCY) {
      const slice = missing.slice(i, i + FETCH_CONCURRENCY);
      const records = await Promise.all(
        slice.map(async (m) => {
          const file = await downloader.download(m.urls, { ...(m.size !== null ? { size: m.size } : {}), digests: m.digests }, options.signal);
          return storage.adoptDownloaded(file);
        }),
      );
      await store.upsertArtifacts(records);
      records.forEach((record, j) => {
        const m = slice[j]!;
        fetchedWrites.push({ unitId: m.unit.unitId, typeId: m.unit.typeId, key: m.unit.key, metadata: m.unit.metadata, artifacts: [{ relativePath: m.relativePath, sha256: record.sha256 }] });
        copies.push({ relativePath: m.relativePath, sha256: record.sha256, size: record.size });
      });
      result.fetched += records.length;
    }
    if (fetchedWrites.length > 0) await store.upsertUnits(fetchedWrites);
    for (const copy of copies) {
      const target = resolveInside(root, copy.relativePath, 'exported file path');
      await mkdir(path.dirname(target), { recursive: true });
      const temp = `${target}.tributary-${randomUUID().slice(0, 8)}.tmp`;
      try {
        await copyFile(storage.pathFor(copy.sha256), temp);
        await rename(temp, target);
      } catch (error) {
        await rm(temp, { force: true });
        throw new TributaryError(ErrorCodes.STORAGE, `could not export '${copy.relativePath}': ${(error as Error).message}`, { cause: error });
      }
      result.files++;
      result.bytes += copy.size ?? 0;
    }
  }
}
