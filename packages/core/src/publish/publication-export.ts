import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import type { ArtifactStorage } from '../storage/artifact-storage.js';
import { resolveInside } from '../storage/safe-relative-path.js';
import type { ContentStore, PublicationEntry, PublicationRecord, RepositoryRecord } from '../store/content-store.js';
import type { OnDemandArtifacts } from './on-demand-artifacts.js';

const PAGE = 1000;
const FETCH_CONCURRENCY = 8;

export interface PublicationExportOptions {
  /** Empty a non-empty target first (refused otherwise). */
  readonly clean?: boolean;
  /** Fetch bytes of on-demand artifacts (verified, then kept in storage). Default true. */
  readonly fetchMissing?: boolean;
  readonly signal?: AbortSignal;
}

export interface ExportResult {
  readonly files: number;
  readonly bytes: number;
  /** On-demand artifacts fetched from their remotes during the export. */
  readonly fetched: number;
  /** Relative paths claimed by more than one unit; the first was published. */
  readonly conflicts: number;
  /** Files left out because their bytes are not stored and `fetchMissing` was false. */
  readonly skipped: number;
  readonly publicationId: string;
}

/**
 * Writes a publication's files into `directory`. Each file is copied to a temporary name beside
 * its target and renamed, so a reader never sees half a file; files whose bytes are not stored
 * are fetched first (a few at a time).
 */
export async function exportPublication(
  store: ContentStore,
  storage: ArtifactStorage,
  onDemand: OnDemandArtifacts,
  repository: RepositoryRecord,
  publication: PublicationRecord,
  directory: string,
  options: PublicationExportOptions = {},
): Promise<ExportResult> {
  const root = path.resolve(directory);
  await prepareTarget(root, storage.root, options.clean === true);
  const result = { files: 0, bytes: 0, fetched: 0, conflicts: publication.summary?.conflicts ?? 0, skipped: 0, publicationId: publication.id };
  let after: string | undefined;
  for (;;) {
    const page = await store.listPublicationEntries(publication.id, { ...(after !== undefined ? { after } : {}), limit: PAGE });
    if (page.length === 0) break;
    after = page[page.length - 1]!.path;
    const located: { entry: PublicationEntry; sha256: string }[] = [];
    const missing: PublicationEntry[] = [];
    const stored = await onDemand.locateAll(page);
    for (const [i, entry] of page.entries()) {
      const sha256 = stored[i];
      if (sha256 !== undefined) located.push({ entry, sha256 });
      else if (options.fetchMissing === false) result.skipped++;
      else missing.push(entry);
    }
    for (let i = 0; i < missing.length; i += FETCH_CONCURRENCY) {
      const records = await Promise.all(missing.slice(i, i + FETCH_CONCURRENCY).map((entry) => onDemand.fetch(entry, repository.feedUrl, options.signal).done));
      records.forEach((record, j) => located.push({ entry: missing[i + j]!, sha256: record.sha256 }));
      result.fetched += records.length;
    }
    for (const { entry, sha256 } of located) {
      options.signal?.throwIfAborted();
      const target = resolveInside(root, entry.path, 'exported file path');
      await mkdir(path.dirname(target), { recursive: true });
      const temp = `${target}.tributary-${randomUUID().slice(0, 8)}.tmp`;
      try {
        await copyFile(storage.pathFor(sha256), temp);
        await rename(temp, target);
      } catch (error) {
        await rm(temp, { force: true });
        throw new TributaryError(ErrorCodes.STORAGE, `could not export '${entry.path}': ${(error as Error).message}`, { cause: error });
      }
      result.files++;
      result.bytes += entry.size ?? 0;
    }
  }
  return result;
}

/** Creates the target, or checks it is empty (or empties it when `clean`). */
async function prepareTarget(root: string, storageRoot: string, clean: boolean): Promise<void> {
  await mkdir(root, { recursive: true });
  const names = await readdir(root);
  if (names.length === 0) return;
  if (!clean) {
    throw new TributaryError(
      ErrorCodes.EXPORT_TARGET_NOT_EMPTY,
      `export target ${root} is not empty (${names.length} entries); choose an empty directory, or pass --clean to empty it first`,
      { details: { directory: root, entries: names.length } },
    );
  }
  const storage = path.resolve(storageRoot);
  if (root === path.parse(root).root || storage === root || storage.startsWith(root + path.sep)) {
    throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `refusing to empty ${root}: it is a filesystem root or holds Tributary's storage (${storage})`, {
      details: { directory: root },
    });
  }
  for (const name of names) await rm(path.join(root, name), { recursive: true, force: true });
}
