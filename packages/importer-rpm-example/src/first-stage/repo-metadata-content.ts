import { DeclarativeArtifact, DeclarativeContent, type DownloadedFile } from '@tributary/plugin-api';
import { RPM_REPO_METADATA } from '../content-types.js';
import type { RepomdRecord } from '../metadata/repomd.js';

/** repomd.xml's own path, which dnf reads first. */
export const REPOMD_PATH = 'repodata/repomd.xml';

/**
 * The unit-to-be of one repomd record. Metadata is always downloaded (never deferred, whatever the
 * policy): it is small next to the packages, and an exported tree is only usable with all of it.
 * `downloaded` is a file the importer already fetched and verified (to parse it), handed over so
 * the pipeline stores it instead of fetching it again.
 */
export function repoMetadataContent(record: RepomdRecord, revision: string | undefined, downloaded?: DownloadedFile): DeclarativeContent {
  const artifact = new DeclarativeArtifact({
    url: record.url,
    relativePath: record.relativePath,
    ...(record.size !== undefined ? { size: record.size } : {}),
    digests: record.digests,
    deferredDownload: false,
  });
  if (downloaded) artifact.downloaded = downloaded;
  return new DeclarativeContent({
    typeId: RPM_REPO_METADATA,
    key: { dataType: record.type, relativePath: record.relativePath, checksumType: record.checksumType, checksum: record.checksum },
    metadata: {
      href: record.href,
      ...(record.xmlBase ? { xmlBase: record.xmlBase } : {}),
      digests: record.digests,
      openDigests: record.openDigests,
      ...(record.size !== undefined ? { size: record.size } : {}),
      ...(record.openSize !== undefined ? { openSize: record.openSize } : {}),
      ...(record.timestamp !== undefined ? { timestamp: record.timestamp } : {}),
      ...(revision !== undefined ? { revision } : {}),
    },
    artifacts: [artifact],
  });
}

/** The unit-to-be of repomd.xml itself, keyed by the sha256 of its bytes. */
export function repomdContent(url: string, file: DownloadedFile, revision: string | undefined): DeclarativeContent {
  const artifact = new DeclarativeArtifact({ url, relativePath: REPOMD_PATH, size: file.size, digests: { sha256: file.digests.sha256 }, deferredDownload: false });
  artifact.downloaded = file;
  return new DeclarativeContent({
    typeId: RPM_REPO_METADATA,
    key: { dataType: 'repomd', relativePath: REPOMD_PATH, checksumType: 'sha256', checksum: file.digests.sha256 },
    metadata: { href: REPOMD_PATH, digests: { sha256: file.digests.sha256 }, openDigests: {}, size: file.size, ...(revision !== undefined ? { revision } : {}) },
    artifacts: [artifact],
  });
}
