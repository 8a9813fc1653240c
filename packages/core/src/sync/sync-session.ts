import type { DependencyContainer } from 'tsyringe';
import { RepoConduit } from '../conduit/repo-conduit.js';
import { SeenMarks } from '../conduit/seen-marks.js';
import { SYNC_SCOPE, type SyncScope } from '../conduit/sync-scope.js';
import { UnitWrites } from '../conduit/unit-writes.js';
import { ResyncService } from '../resync/resync-service.js';

/** The repository-scoped services of one sync. */
export interface SyncSession {
  readonly conduit: RepoConduit;
  readonly resync: ResyncService;
}

/**
 * Builds one sync's conduit and re-sync service in a child container of the host's, sharing one
 * {@link UnitWrites} (unit ids, row checks) and one {@link SeenMarks}. Syncs and tests both build
 * them here, so the stages under test run on what production runs.
 */
export function createSyncSession(container: DependencyContainer, scope: SyncScope): SyncSession {
  const child = container.createChildContainer();
  child.register(SYNC_SCOPE, { useValue: scope });
  child.registerSingleton(UnitWrites);
  child.registerSingleton(SeenMarks);
  return { conduit: child.resolve(RepoConduit), resync: child.resolve(ResyncService) };
}
