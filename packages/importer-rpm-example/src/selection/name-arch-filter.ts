import type picomatch from 'picomatch';
import { ErrorCodes, TributaryError } from '@tributary/plugin-api';

/** The config options the filter is made of (see RpmImporterConfig). */
export interface NameArchFilterConfig {
  readonly includeNames: readonly string[];
  readonly excludeNames: readonly string[];
  readonly arches: readonly string[];
}

/** Why the filter leaves a package out. */
export type NameArchExclusion = 'name' | 'arch';

/**
 * picomatch's options for globs over package names: a bracket, brace or parenthesis left open is
 * an error rather than a literal character (a pattern with one is a typo far more often than a
 * name with one), so is a pattern that makes no regular expression (`a\`, `[z-a]`), which picomatch
 * would otherwise turn into one that matches nothing; `!` is no negation (excludeNames is), and `*`
 * matches names starting with a dot too.
 */
const GLOB_OPTIONS: picomatch.PicomatchOptions = { strictBrackets: true, debug: true, nonegate: true, dot: true };

/**
 * Which packages a sync keeps by name and arch: a name must match one of `includeNames` (when
 * there are any) and none of `excludeNames`; the arch must be one of `arches` (when there are any).
 * Globs are picomatch's (`*`, `?`, `[a-z]`, `{a,b}`, `@(a|b)`), matched against the whole name.
 */
export class NameArchFilter {
  private constructor(
    private readonly include: readonly RegExp[],
    private readonly exclude: readonly RegExp[],
    private readonly arches: ReadonlySet<string>,
  ) {}

  /**
   * The filter the config describes, or undefined when it keeps every package. Throws
   * TRIBUTARY_ERR_CONFIG_INVALID naming the option and the index of a glob picomatch refuses.
   */
  static of(config: NameArchFilterConfig): NameArchFilter | undefined {
    if (config.includeNames.length === 0 && config.excludeNames.length === 0 && config.arches.length === 0) return undefined;
    return new NameArchFilter(compileGlobs('includeNames', config.includeNames), compileGlobs('excludeNames', config.excludeNames), new Set(config.arches));
  }

  /** Why the package named `name`, of `arch`, is left out; undefined when it is kept. */
  exclusionOf(name: string, arch: string): NameArchExclusion | undefined {
    if (this.arches.size > 0 && !this.arches.has(arch)) return 'arch';
    if (this.include.length > 0 && !this.include.some((glob) => glob.test(name))) return 'name';
    if (this.exclude.some((glob) => glob.test(name))) return 'name';
    return undefined;
  }
}

function compileGlobs(field: string, globs: readonly string[]): RegExp[] {
  if (globs.length === 0) return [];
  // loaded by the first filter that has globs: most syncs have none
  const { makeRe } = require('picomatch') as typeof picomatch;
  return globs.map((glob, index) => {
    const where = `${field}[${index}]`;
    if (typeof glob !== 'string' || glob === '') {
      throw new TributaryError(ErrorCodes.CONFIG_INVALID, `config ${where} must be a non-empty glob, got ${JSON.stringify(glob)}`, { details: { field, index } });
    }
    try {
      return makeRe(glob, GLOB_OPTIONS);
    } catch (error) {
      throw new TributaryError(ErrorCodes.CONFIG_INVALID, `config ${where} ${JSON.stringify(glob)} is not a valid glob: ${(error as Error).message}`, {
        cause: error,
        details: { field, index, glob },
      });
    }
  });
}
