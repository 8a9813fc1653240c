import type { AnyImporterPlugin } from '@tributary/plugin-api';
import type { ConformanceRule } from './conformance-rules.js';
import type { FixtureState, ImporterFixtures } from './fixture-states.js';

/** What `describeImporterConformance` (and each `checkX`) runs against. */
export interface ImporterConformanceOptions {
  /** The plugin under test, as `defineImporter` returned it. */
  readonly plugin: AnyImporterPlugin;
  /** The fixture repository in its two states, or a function building them (called once, lazily). */
  readonly fixtures: ImporterFixtures | (() => ImporterFixtures | Promise<ImporterFixtures>);
  /** A valid per-repository config every sync uses (default: none). */
  readonly config?: Record<string, unknown>;
  /**
   * A config the plugin must refuse. Default: derived from the config schema (an unknown setting
   * when it says `additionalProperties: false`, else a declared setting of the wrong type).
   */
  readonly invalidConfig?: Record<string, unknown>;
  /**
   * Content types whose artifacts the importer downloads even in an `on_demand` sync because it
   * reads them (declared with `deferredDownload: false`, e.g. repository metadata files).
   */
  readonly alwaysDownloadedTypes?: readonly string[];
  /**
   * Content types the importer keeps equal to upstream's current set on every sync, mirror or not
   * (e.g. revisions of repository metadata files): a sync without mirror may remove their units.
   */
  readonly replacedTypes?: readonly string[];
  /**
   * Path (on the fixture server) of a file of the changed state that the kit corrupts or fails.
   * An artifact file is the target of the artifact rules (upstream-error-intact,
   * corrupt-artifact-intact, cancellation); an index or metadata file the target of the index rules
   * (index-error-intact, index-truncated-intact). Default: found automatically for each.
   */
  readonly faultPath?: string;
  /**
   * Opts in to rule `heap-bounded`: the kit syncs (on_demand, so only the index is read) one large
   * upstream built by `fixture(units)` and fails when the heap grows by more than `maxGrowthMiB`
   * during that sync. Without it, the rule is skipped.
   */
  readonly heapBudget?: HeapBudget;
  /** Rules not to check, each with the reason (shown as a skipped test). */
  readonly skip?: Partial<Record<ConformanceRule, string>>;
  /** Name of the jest suite (default: `importer '<plugin name>' conformance`). */
  readonly suiteName?: string;
  /** Timeout of each check in ms (default 60 s). */
  readonly timeoutMs?: number;
  /**
   * How long a cancelled sync may take to settle before the kit calls it hung, in ms (default 20 s).
   */
  readonly cancelSettleMs?: number;
  /**
   * The host's progress watchdog in the kit's syncs, in ms (default 10 s): a sync in which nothing
   * moves for this long fails, naming what it waits on, instead of hanging the test run.
   */
  readonly stallTimeoutMs?: number;
}

/** The heap budget of rule `heap-bounded`. */
export interface HeapBudget {
  /**
   * Builds the large upstream: a fixture state (like `initial`, `{ files }` or `{ root }`) whose index
   * lists about `units` units. Served at the fixtures' `feedPath`. Artifact files may be left out:
   * the sync is on_demand.
   */
  readonly fixture: (units: number) => FixtureState | Promise<FixtureState>;
  /** How many units `fixture` is asked for (default 10,000). */
  readonly units?: number;
  /**
   * Most the heap may grow during the sync, in MiB, measured as live heap (after a full GC) at its
   * peak minus before the sync. Choose it well above what streaming needs and well below what
   * holding every unit at once costs (the kit's own tests: 10,000 units, budget 24 MiB).
   */
  readonly maxGrowthMiB: number;
}
