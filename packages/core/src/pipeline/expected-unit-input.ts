import type { DeclarativeArtifact, DeclarativeContent, UnitInput } from '@tributary/plugin-api';
import { remoteOf, withMetadataOf } from './unit-input.js';

/**
 * The unit that saving `dc` would write if nothing were downloaded that need not be: files the sync
 * defers keep no bytes (sha256 null), files it would download are expected to be stored with their
 * declared sha256. Undefined when that cannot be told beforehand: a file to download without a
 * declared sha256, or one already downloaded.
 */
export function expectedUnitInput(dc: DeclarativeContent, immediate: boolean): UnitInput | undefined {
  const artifacts: NonNullable<UnitInput['artifacts']>[number][] = [];
  for (const artifact of dc.artifacts) {
    if (artifact.downloaded) return undefined;
    const sha256 = artifact.stored?.sha256 ?? (downloadsNow(artifact, immediate) ? artifact.digests.sha256 : null);
    if (sha256 === undefined) return undefined;
    const remote = artifact.urls.length === 0 ? undefined : remoteOf(artifact);
    const relativePath = artifact.relativePath;
    if (sha256 === null) artifacts.push(remote ? { relativePath, remote } : { relativePath });
    else artifacts.push(remote ? { relativePath, sha256, remote } : { relativePath, sha256 });
  }
  return withMetadataOf(dc, artifacts);
}

/** Whether ArtifactDownloader fetches this file in a sync of this policy (unless its bytes are stored). */
export function downloadsNow(artifact: DeclarativeArtifact, immediate: boolean): boolean {
  return artifact.deferredDownload === false || (artifact.deferredDownload === undefined && immediate);
}
