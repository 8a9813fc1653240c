import type { JsonSchema } from '@tributary/plugin-api';

/** Per-repository configuration of the `rpm` importer (after the host applied the schema's defaults). */
export interface RpmImporterConfig {
  /**
   * repomd record types (`filelists`, `other`, `updateinfo`, `group`, …) neither kept as
   * `rpm.repo_metadata` units nor parsed. `primary` cannot be skipped. Skipping a type that
   * repomd.xml lists makes an exported tree that dnf refuses, since repomd.xml still names it.
   */
  readonly skipTypes: readonly string[];
  /**
   * Hard cap on the decompressed size of any metadata file the importer parses, whatever
   * repomd.xml's `open-size` claims: a decompression bomb fails with
   * TRIBUTARY_ERR_DECOMPRESSION_LIMIT once it is passed. Also caps each metadata download.
   */
  readonly maxMetadataBytes: number;
  /**
   * Most distinct packages (NEVRAs) that advisories may name and get linked to package units of
   * the same sync. It bounds the memory of multi-level discovery; packages past it are still listed
   * in the advisory, only without a unit id (the sync log says so).
   */
  readonly maxLinkedPackages: number;
  /**
   * Changelog entries of other.xml kept per package: the newest N, as createrepo_c's
   * `--changelog-limit` (default 10). 0 keeps none.
   */
  readonly changelogLimit: number;
  /**
   * Globs over package names (picomatch's: `*`, `?`, `[…]`, `{a,b}`, `@(a|b)`); when there are any,
   * only packages whose name matches one of them are synced. Empty: every name.
   */
  readonly includeNames: readonly string[];
  /** Globs over package names (as includeNames); packages whose name matches one are not synced (`["*-debuginfo"]`). */
  readonly excludeNames: readonly string[];
  /** Architectures to sync, exactly as primary names them (`x86_64`, `noarch`, `src`). Empty: every one. */
  readonly arches: readonly string[];
  /**
   * Keep only the N newest versions of each name.arch, newest by rpm's comparison of epoch,
   * version and release; 0 keeps every version. Costs a second reading of primary.
   */
  readonly retainPackageVersions: number;
}

export const RPM_CONFIG_DEFAULTS: RpmImporterConfig = Object.freeze({
  skipTypes: Object.freeze([]) as readonly string[],
  maxMetadataBytes: 2 * 1024 ** 3,
  maxLinkedPackages: 200_000,
  changelogLimit: 10,
  includeNames: Object.freeze([]) as readonly string[],
  excludeNames: Object.freeze([]) as readonly string[],
  arches: Object.freeze([]) as readonly string[],
  retainPackageVersions: 0,
});

/** A glob over package names: its syntax is checked when the sync starts (see NameArchFilter). */
const NAME_GLOB = { type: 'string', minLength: 1, maxLength: 1024 } as const;

/** JSON schema of {@link RpmImporterConfig}; the host validates it and applies the defaults. */
export const RPM_CONFIG_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    skipTypes: {
      type: 'array',
      items: { type: 'string', minLength: 1, not: { const: 'primary' } },
      uniqueItems: true,
      default: [],
      description: 'repomd record types not kept nor parsed (primary cannot be skipped)',
    },
    maxMetadataBytes: {
      type: 'integer',
      minimum: 1024,
      default: RPM_CONFIG_DEFAULTS.maxMetadataBytes,
      description: 'hard cap on the decompressed size of a parsed metadata file',
    },
    maxLinkedPackages: {
      type: 'integer',
      minimum: 0,
      default: RPM_CONFIG_DEFAULTS.maxLinkedPackages,
      description: 'most distinct packages advisories get linked to in one sync',
    },
    changelogLimit: {
      type: 'integer',
      minimum: 0,
      default: RPM_CONFIG_DEFAULTS.changelogLimit,
      description: "changelog entries kept per package, the newest (createrepo_c's --changelog-limit)",
    },
    includeNames: {
      type: 'array',
      items: NAME_GLOB,
      default: [],
      description: 'globs over package names: only matching packages are synced (empty: all)',
    },
    excludeNames: {
      type: 'array',
      items: NAME_GLOB,
      default: [],
      description: 'globs over package names: matching packages are not synced',
    },
    arches: {
      type: 'array',
      items: { type: 'string', minLength: 1, pattern: '^\\S+$' },
      default: [],
      description: 'architectures synced (exact names: x86_64, noarch, src; empty: all)',
    },
    retainPackageVersions: {
      type: 'integer',
      minimum: 0,
      default: 0,
      description: 'keep only the N newest versions (rpm order) of each name.arch; 0 keeps all',
    },
  },
};

/** The config with defaults filled in, for callers (tests, conduit-less use) that bypass the host. */
export function withConfigDefaults(config: Partial<RpmImporterConfig> | undefined): RpmImporterConfig {
  return {
    skipTypes: config?.skipTypes ?? RPM_CONFIG_DEFAULTS.skipTypes,
    maxMetadataBytes: config?.maxMetadataBytes ?? RPM_CONFIG_DEFAULTS.maxMetadataBytes,
    maxLinkedPackages: config?.maxLinkedPackages ?? RPM_CONFIG_DEFAULTS.maxLinkedPackages,
    changelogLimit: config?.changelogLimit ?? RPM_CONFIG_DEFAULTS.changelogLimit,
    includeNames: config?.includeNames ?? RPM_CONFIG_DEFAULTS.includeNames,
    excludeNames: config?.excludeNames ?? RPM_CONFIG_DEFAULTS.excludeNames,
    arches: config?.arches ?? RPM_CONFIG_DEFAULTS.arches,
    retainPackageVersions: config?.retainPackageVersions ?? RPM_CONFIG_DEFAULTS.retainPackageVersions,
  };
}
