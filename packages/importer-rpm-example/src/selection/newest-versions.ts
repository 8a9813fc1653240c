import type { Nevra } from '../metadata/primary-package.js';
import { compareEvr, type Evr } from '../version/rpm-version-compare.js';

/** The versions held for one name.arch: at most `count` distinct ones, oldest first. */
interface HeldVersions {
  readonly versions: Evr[];
  /** Whether a version was turned away or pushed out: only then does the key need a threshold. */
  dropped: boolean;
}

/**
 * The first pass of `retainPackageVersions`: sees every package of primary once and keeps, per
 * name.arch, only the `count` newest distinct EVRs seen so far (rpm's order, {@link compareEvr}),
 * in a sorted list of at most `count` entries. Memory is proportional to distinct name.arch ×
 * `count`, whatever the number of packages.
 *
 * EVRs rpm holds equal (`1.0` and `1.00`, or one NEVRA listed twice) are one version: they take one
 * place, and all of them are kept or none.
 *
 * @example
 * ```ts
 * const newest = new NewestVersions(1);
 * for (const p of packages) newest.offer(p);
 * const retained = newest.retained();
 * packages.filter((p) => retained.keeps(p));
 * ```
 */
export class NewestVersions {
  private readonly held = new Map<string, HeldVersions>();
  private heldVersions = 0;

  constructor(readonly count: number) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`NewestVersions keeps at least one version, got ${count}`);
  }

  /** Distinct name.arch seen. */
  get keys(): number {
    return this.held.size;
  }

  /** EVRs held now, over all keys: what the pass costs in memory. */
  get versionsHeld(): number {
    return this.heldVersions;
  }

  offer(p: Nevra): void {
    const key = keyOf(p.name, p.arch);
    const held = this.held.get(key);
    const evr: Evr = { epoch: p.epoch, version: p.version, release: p.release };
    if (held === undefined) {
      this.held.set(key, { versions: [evr], dropped: false });
      this.heldVersions++;
      return;
    }
    const { versions } = held;
    // the usual case when the list is full: older than all it holds (one comparison)
    if (versions.length === this.count && compareEvr(evr, versions[0]!) < 0) {
      held.dropped = true;
      return;
    }
    // binary search for the first held version not older than evr
    let low = 0;
    let high = versions.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareEvr(versions[middle]!, evr) < 0) low = middle + 1;
      else high = middle;
    }
    if (low < versions.length && compareEvr(versions[low]!, evr) === 0) return;
    versions.splice(low, 0, evr);
    if (versions.length > this.count) {
      versions.shift();
      held.dropped = true;
    } else {
      this.heldVersions++;
    }
  }

  /**
   * What the second pass keeps: per name.arch that had more than `count` versions, the oldest of
   * the newest `count`. This pass's lists can be dropped after.
   */
  retained(): RetainedVersions {
    const oldestKept = new Map<string, Evr>();
    for (const [key, held] of this.held) if (held.dropped) oldestKept.set(key, held.versions[0]!);
    return new RetainedVersions(this.count, oldestKept);
  }
}

/**
 * Which versions `retainPackageVersions` keeps, once every package was seen: a package is kept
 * when its name.arch had no more than `count` versions, or when its EVR is not older than the
 * oldest of the `count` newest. One EVR per name.arch that had more versions.
 */
export class RetainedVersions {
  constructor(
    readonly count: number,
    private readonly oldestKept: ReadonlyMap<string, Evr>,
  ) {}

  /** Name.arch that have versions left out. */
  get trimmedKeys(): number {
    return this.oldestKept.size;
  }

  /** Whether `p` is among the `count` newest versions of its name.arch (any package of a name.arch not seen is). */
  keeps(p: Nevra): boolean {
    const oldest = this.oldestKept.get(keyOf(p.name, p.arch));
    return oldest === undefined || compareEvr(p, oldest) >= 0;
  }
}

/** Name and arch hold no whitespace (see nevraFieldProblem), so a tab joins them unambiguously. */
function keyOf(name: string, arch: string): string {
  return `${name}\t${arch}`;
}
