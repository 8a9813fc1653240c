import { isTributaryError } from '@tributary/plugin-api';
import type { Nevra } from '../src/metadata/primary-package.js';
import { NameArchFilter } from '../src/selection/name-arch-filter.js';
import { NewestVersions } from '../src/selection/newest-versions.js';
import { PackageSelection } from '../src/selection/package-selection.js';
import { compareEvr } from '../src/version/rpm-version-compare.js';

const pkg = (name: string, evr: string, arch = 'x86_64'): Nevra => {
  const [, epoch = '0', version = '', release = ''] = /^(?:(\d+):)?([^-]+)-(.+)$/.exec(evr)!;
  return { name, epoch, version, release, arch };
};
const nevraText = (p: Nevra) => `${p.name}-${p.epoch}:${p.version}-${p.release}.${p.arch}`;

/** What retention keeps, the slow way: every version of a name.arch sorted, the `count` newest distinct ones. */
function keptByBruteForce(packages: readonly Nevra[], count: number): Set<string> {
  const byKey = new Map<string, Nevra[]>();
  for (const p of packages) byKey.set(`${p.name}.${p.arch}`, [...(byKey.get(`${p.name}.${p.arch}`) ?? []), p]);
  const kept = new Set<string>();
  for (const all of byKey.values()) {
    const distinct: Nevra[] = [];
    for (const p of [...all].sort((a, b) => compareEvr(b, a))) if (!distinct.some((d) => compareEvr(d, p) === 0)) distinct.push(p);
    const oldestKept = distinct[Math.min(count, distinct.length) - 1]!;
    for (const p of all) if (compareEvr(p, oldestKept) >= 0) kept.add(nevraText(p));
  }
  return kept;
}

function keptBySelector(packages: readonly Nevra[], count: number): Set<string> {
  const newest = new NewestVersions(count);
  for (const p of packages) newest.offer(p);
  const retained = newest.retained();
  return new Set(packages.filter((p) => retained.keeps(p)).map(nevraText));
}

describe('retainPackageVersions: the newest versions of each name.arch', () => {
  test('one version kept: by rpm order, so an epoch beats a higher version and 2.0~rc1 is older than 2.0', () => {
    const packages = [pkg('hello', '2.0-1'), pkg('hello', '1:1.0-1'), pkg('hello', '1.5-1'), pkg('tool', '2.0~rc1-1'), pkg('tool', '2.0-1'), pkg('tool', '1.9-1')];
    expect([...keptBySelector(packages, 1)].sort()).toEqual(['hello-1:1.0-1.x86_64', 'tool-0:2.0-1.x86_64']);
  });

  test('counted per name.arch: each arch keeps its own newest', () => {
    const packages = [pkg('a', '1.0-1', 'x86_64'), pkg('a', '2.0-1', 'x86_64'), pkg('a', '1.0-1', 'i686'), pkg('b', '1.0-1', 'noarch')];
    expect([...keptBySelector(packages, 1)].sort()).toEqual(['a-0:1.0-1.i686', 'a-0:2.0-1.x86_64', 'b-0:1.0-1.noarch']);
  });

  test('releases count: 1.el9_3 is newer than 1.el9, 10 than 9', () => {
    const packages = [pkg('k', '5.14-1.el9'), pkg('k', '5.14-1.el9_3'), pkg('k', '5.14-10.el9'), pkg('k', '5.14-9.el9_3')];
    expect([...keptBySelector(packages, 2)].sort()).toEqual(['k-0:5.14-10.el9.x86_64', 'k-0:5.14-9.el9_3.x86_64']);
  });

  test('versions rpm holds equal are one version, kept together: a NEVRA listed twice, or 1.0 beside 1.00', () => {
    const packages = [pkg('a', '1.0-1'), pkg('a', '1.00-1'), pkg('a', '1.0-1'), pkg('a', '0.9-1'), pkg('a', '0.8-1')];
    const kept = keptBySelector(packages, 2);
    expect([...kept].sort()).toEqual(['a-0:0.9-1.x86_64', 'a-0:1.0-1.x86_64', 'a-0:1.00-1.x86_64']);
  });

  test('fewer versions than the count: all kept, and the name.arch needs no threshold', () => {
    const newest = new NewestVersions(3);
    for (const p of [pkg('a', '1-1'), pkg('a', '2-1'), pkg('b', '1-1')]) newest.offer(p);
    const retained = newest.retained();
    expect(retained.trimmedKeys).toBe(0);
    expect(retained.keeps(pkg('a', '1-1'))).toBe(true);
    // a name.arch the first pass never saw (an advisory's package in no primary) is not ruled out
    expect(retained.keeps(pkg('ghost', '0.1-1'))).toBe(true);
  });

  test('the same packages as sorting every version, in any order, for counts 1 to 4', () => {
    const versions = ['1.0-1', '1.0-2', '1.0~rc1-1', '1.0^git1-1', '1.00-1', '1:0.1-1', '2.0-1', '2.0a-1', '2.0.1-1', '0.9-1.el9', '0.9-1.el9_3', '10-1'];
    // a fixed pseudo-random sequence (LCG): the test sees the same packages on every run
    let seed = 42;
    const next = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const packages: Nevra[] = [];
    for (let i = 0; i < 600; i++) packages.push(pkg(`p${next(25)}`, versions[next(versions.length)]!, next(3) === 0 ? 'noarch' : 'x86_64'));
    for (const count of [1, 2, 3, 4]) expect(keptBySelector(packages, count)).toEqual(keptByBruteForce(packages, count));
  });

  test('memory: at most `count` versions held per name.arch, however many packages go through', () => {
    const newest = new NewestVersions(2);
    for (let i = 0; i < 10_000; i++) newest.offer(pkg(`n${i % 50}`, `${i}.0-1`));
    expect(newest.keys).toBe(50);
    expect(newest.versionsHeld).toBe(100);
    const retained = newest.retained();
    expect(retained.trimmedKeys).toBe(50);
    expect(retained.keeps(pkg('n7', '9957.0-1'))).toBe(true);
    expect(retained.keeps(pkg('n7', '9907.0-1'))).toBe(true);
    expect(retained.keeps(pkg('n7', '9857.0-1'))).toBe(false);
  });

  test('a count below one is refused (0 means no retention, which needs no selector)', () => {
    expect(() => new NewestVersions(0)).toThrow(RangeError);
  });
});

describe('the name and arch filter', () => {
  const filterOf = (config: { includeNames?: string[]; excludeNames?: string[]; arches?: string[] }) =>
    NameArchFilter.of({ includeNames: config.includeNames ?? [], excludeNames: config.excludeNames ?? [], arches: config.arches ?? [] });

  test('no option given: no filter at all', () => {
    expect(filterOf({})).toBeUndefined();
    expect(new PackageSelection(undefined, undefined).keepsEverything).toBe(true);
  });

  test('globs match whole names; include, then exclude; arches exactly', () => {
    const filter = filterOf({ includeNames: ['kernel*', 'python3.1?', 'tb-{hello,base}'], excludeNames: ['*-debuginfo', '*-debugsource'], arches: ['x86_64', 'noarch'] })!;
    expect(filter.exclusionOf('kernel-core', 'x86_64')).toBeUndefined();
    expect(filter.exclusionOf('kernel-debuginfo', 'x86_64')).toBe('name');
    expect(filter.exclusionOf('python3.11', 'noarch')).toBeUndefined();
    expect(filter.exclusionOf('python3.1', 'noarch')).toBe('name');
    expect(filter.exclusionOf('tb-hello', 'noarch')).toBeUndefined();
    expect(filter.exclusionOf('tb-hello-extra', 'noarch')).toBe('name');
    expect(filter.exclusionOf('mykernel', 'x86_64')).toBe('name');
    expect(filter.exclusionOf('kernel-core', 'i686')).toBe('arch');
    expect(filter.exclusionOf('kernel-core', 'x86_64_v2')).toBe('arch');
  });

  test('! is a plain character, not a negation: exclusion is excludeNames', () => {
    const filter = filterOf({ includeNames: ['!bash'] })!;
    expect(filter.exclusionOf('zsh', 'x86_64')).toBe('name');
  });

  test.each([
    ['includeNames', 'kernel[', 0],
    ['excludeNames', '*-debug{info', 1],
    ['includeNames', 'a(b', 1],
    ['excludeNames', '[z-a]*', 0],
  ] as const)('%s with %s is TRIBUTARY_ERR_CONFIG_INVALID naming the field and index', (field, glob, index) => {
    const globs = index === 0 ? [glob] : ['fine-*', glob];
    const error = (() => {
      try {
        filterOf({ [field]: globs });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isTributaryError(error, 'TRIBUTARY_ERR_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toContain(`${field}[${index}]`);
  });

  test('a package left out by name or arch is reported so before its version is looked at', () => {
    const newest = new NewestVersions(1);
    for (const p of [pkg('a', '1-1'), pkg('a', '2-1')]) newest.offer(p);
    const selection = new PackageSelection(filterOf({ arches: ['x86_64'] }), newest.retained());
    expect(selection.exclusionOf(pkg('a', '1-1'))).toBe('version');
    expect(selection.exclusionOf(pkg('a', '1-1', 'i686'))).toBe('arch');
    expect(selection.keeps(pkg('a', '2-1'))).toBe(true);
  });
});
