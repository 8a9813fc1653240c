import type { DeclarativeContent, ImportConduit } from '@tributary/plugin-api';

/**
 * Content whose remote sources ContentSaver wrote together with the unit in this sync, so
 * RemoteArtifactSaver need not write them again; kept per conduit (one per sync) until
 * RemoteArtifactSaver takes note of it, so a set holds only content between the two stages.
 *
 * Not one WeakSet of all content: a weak collection holding every unit of a sync costs each
 * scavenge of the sync's thread.
 */
const savedByConduit = new WeakMap<ImportConduit, Set<DeclarativeContent>>();

/** ContentSaver wrote the remote sources of `dc` with its unit. */
export function markRemoteSourcesSaved(conduit: ImportConduit, dc: DeclarativeContent): void {
  let saved = savedByConduit.get(conduit);
  if (saved === undefined) savedByConduit.set(conduit, (saved = new Set()));
  saved.add(dc);
}

/** Whether ContentSaver wrote the remote sources of `dc`; forgets it (content passes each stage once). */
export function takeRemoteSourcesSaved(conduit: ImportConduit, dc: DeclarativeContent): boolean {
  return savedByConduit.get(conduit)?.delete(dc) ?? false;
}
