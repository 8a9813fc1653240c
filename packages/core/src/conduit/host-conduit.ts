import type { ExistingUnit, ImportConduit, UnitKey, UnitRef } from '@tributary/plugin-api';

/**
 * The conduit the host's default stages work with: the plugin's {@link ImportConduit} plus two
 * batched calls plugins do not need. RepoConduit implements it; tests use RepoConduit too.
 */
export interface HostConduit extends ImportConduit {
  /** The upstream's name (the redacted feed url) this conduit stamps remote-artifact rows with. */
  readonly remoteName: string;
  /**
   * {@link ImportConduit.findUnits} answered key by key: the stored unit of each of `keys`, in the
   * same order, or undefined. The conduit knows the unit id of each key it looked up, so no stage
   * matches found units back to content by comparing keys.
   */
  findUnitsByKey(typeId: string, keys: readonly UnitKey[]): Promise<(ExistingUnit | undefined)[]>;
  /**
   * {@link ImportConduit.associateUnits}, recording with each unit the upstream record it was
   * built from (`sources[i]`, DeclarativeContentInit.source) where the store keeps provenance:
   * a later sync meeting the same record under the same settings skips the unit while nothing
   * rewrote it.
   */
  associateUnitsFrom(refs: readonly UnitRef[], sources: readonly (string | undefined)[]): Promise<void>;
}
