import type { DeclarativeContent } from '@tributary/plugin-api';

/**
 * Content whose remote sources ContentSaver wrote together with the unit in this sync, so
 * RemoteArtifactSaver need not write them again. Weak: it holds nothing once a sync drops its content.
 */
export const remoteSourcesSaved = new WeakSet<DeclarativeContent>();
