/**
 * What repodata says about a package beyond its name and location, kept so repodata can be
 * written again: dependencies (primary's `<rpm:entry>`s), files (primary, or filelists), and
 * changelogs (other). Each is a short tuple rather than an object: a large repository has millions
 * of them, and the unit metadata stores them as JSON text.
 */

/**
 * One `<rpm:entry>`: `[name, flags, epoch, ver, rel, pre]`, trailing fields that primary does not
 * give left out and inner ones null (`["libc.so.6()(64bit)"]`, `["glibc", "GE", "0", "2.34"]`,
 * `["/bin/sh", null, null, null, null, true]`). Values are as primary writes them.
 */
export type Dependency = readonly [name: string, flags?: string | null, epoch?: string | null, version?: string | null, release?: string | null, pre?: true];

/** The dependency lists of primary's `<format>`, in the order createrepo_c writes them. */
export const DEPENDENCY_KINDS = ['provides', 'requires', 'conflicts', 'obsoletes', 'suggests', 'enhances', 'recommends', 'supplements'] as const;
export type DependencyKind = (typeof DEPENDENCY_KINDS)[number];

/** One `<file>`: `[path]` for a plain file, `[path, "dir"]` or `[path, "ghost"]` otherwise. */
export type PackageFile = readonly [path: string, type?: string];

/** One `<changelog>` of other.xml: author, date (seconds since the epoch), text. */
export type Changelog = readonly [author: string, date: number, text: string];

/** createrepo_c's default `--changelog-limit`: the newest ten entries are kept. */
export const DEFAULT_CHANGELOG_LIMIT = 10;

/**
 * Whether createrepo_c lists `path` in primary.xml too (the rest only in filelists): what dnf
 * resolves file dependencies against without filelists.
 */
export function isPrimaryFile(path: string): boolean {
  return path.startsWith('/etc/') || path.includes('bin/') || path === '/usr/lib/sendmail';
}

/** The `<rpm:entry>` attributes as read, made a {@link Dependency}. */
export function dependencyOf(
  name: string,
  flags: string | undefined,
  epoch: string | undefined,
  version: string | undefined,
  release: string | undefined,
  pre: boolean,
): Dependency {
  if (pre) return [name, flags ?? null, epoch ?? null, version ?? null, release ?? null, true];
  if (release !== undefined) return [name, flags ?? null, epoch ?? null, version ?? null, release];
  if (version !== undefined) return [name, flags ?? null, epoch ?? null, version];
  if (epoch !== undefined) return [name, flags ?? null, epoch];
  if (flags !== undefined) return [name, flags];
  return [name];
}

/** What filelists.xml or other.xml says of one package, found by its pkgId. */
export interface PackageDetails {
  /** The pkgid attribute, lower-case. */
  readonly pkgId: string;
  /** filelists: the package's files. */
  readonly files?: readonly PackageFile[];
  /** other: its newest changelog entries (at most the limit), oldest first as other.xml lists them. */
  readonly changelogs?: readonly Changelog[];
  /** Characters held, for the bound on what waits to be matched (see PackageDetailsJoin). */
  readonly chars: number;
}
