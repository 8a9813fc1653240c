import type { DeclarativeArtifact, DeclarativeContent, ImportConduit, UnitInput, UnitKey, UnitRef } from '@tributary/plugin-api';
import { remoteOf, withMetadataOf } from './unit-input.js';

/**
 * A conduit that can tell which content its repository's base version already holds exactly as
 * writing it would store it, as the host's conduit does (RepoConduit.findUnchanged, through the
 * store's unit fingerprints). QueryExistingContents then drops such content at once: a re-sync of a
 * repository that changed little does the full work only for what changed.
 */
export interface UnchangedLookup {
  /** False once it is known that nothing can be unchanged (no base version, or no fingerprints): no need to ask. */
  mayFindUnchanged(): Promise<boolean>;
  /**
   * Per unit, in order: its ref when the base version holds it unchanged, else undefined.
   * `sources[i]`, the upstream record unit i was built from, is recorded with the rows found, so
   * the next sync finds them by {@link findUnchangedBySource}.
   */
  findUnchanged(units: readonly UnitInput[], sources?: readonly (string | undefined)[]): Promise<(UnitRef | undefined)[]>;
  /**
   * Whether the base version has recorded content sources: then content that gives a source is
   * looked up by it ({@link findUnchangedBySource}) and, when not found, goes the long way.
   */
  hasRecordedSources(): Promise<boolean>;
  /**
   * Per content, in order: its ref when the base version holds a row recorded from the same
   * upstream record under the same settings, its unit unwritten since, else undefined. Marked
   * seen as {@link findUnchanged}'s finds are.
   */
  findUnchangedBySource(contents: readonly { typeId: string; key: UnitKey; source: string }[]): Promise<(UnitRef | undefined)[]>;
  /**
   * Marks the units found unchanged since the last call seen by the version being written (they
   * are in it already), as associating them would; a mirror sync keeps them.
   */
  markUnchangedSeen(): Promise<void>;
  /**
   * Nothing more will be asked: stop reading the base version's fingerprints if that is still
   * going on (a sync that finished early must not wait for it).
   */
  doneFindingUnchanged(): void;
}

export function canFindUnchanged(conduit: ImportConduit): conduit is ImportConduit & UnchangedLookup {
  return typeof (conduit as Partial<UnchangedLookup>).findUnchanged === 'function';
}

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
