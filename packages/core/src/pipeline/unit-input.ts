import type { DeclarativeArtifact, DeclarativeContent, UnitArtifactInput, UnitInput } from '@tributary/plugin-api';

/** The unit ContentSaver writes for `dc`: its files by what is known of their bytes, with their remote sources. */
export function unitInputOf(dc: DeclarativeContent): UnitInput {
  return withMetadataOf(dc, dc.artifacts.map(unitArtifactOf));
}

/** The unit of `dc` with these files, and its metadata as text while it has it (so nobody serialises it again), else as the object. */
export function withMetadataOf(dc: DeclarativeContent, artifacts: UnitArtifactInput[]): UnitInput {
  const text = dc.metadataJson;
  return text !== undefined
    ? { typeId: dc.typeId, key: dc.key, metadataJson: text, artifacts }
    : { typeId: dc.typeId, key: dc.key, metadata: dc.metadata, artifacts };
}

function unitArtifactOf(artifact: DeclarativeArtifact): UnitArtifactInput {
  const remote = artifact.urls.length === 0 ? undefined : remoteOf(artifact);
  if (artifact.stored) {
    const sha256 = artifact.stored.sha256;
    return remote ? { relativePath: artifact.relativePath, sha256, remote } : { relativePath: artifact.relativePath, sha256 };
  }
  // downloaded, but no ArtifactSaver ran (a plugin rearranged the stages): the conduit adopts the file
  if (artifact.downloaded) {
    const { path: file, size, digests } = artifact.downloaded;
    return remote ? { relativePath: artifact.relativePath, file, size, digests, remote } : { relativePath: artifact.relativePath, file, size, digests };
  }
  return remote ? { relativePath: artifact.relativePath, remote } : { relativePath: artifact.relativePath };
}

/** Where to fetch the file and what it must match; no size property when the size is not known. */
export function remoteOf(artifact: DeclarativeArtifact): NonNullable<UnitArtifactInput['remote']> {
  const { urls, size, digests } = artifact;
  return size !== undefined ? { urls, size, digests } : { urls, digests };
}
