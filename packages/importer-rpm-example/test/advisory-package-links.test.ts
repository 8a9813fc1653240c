import { DeclarativeContent, type UnitRef } from '@tributary/plugin-api';
import { AdvisoryPackageLinks } from '../src/first-stage/advisory-package-links.js';
import type { Nevra } from '../src/metadata/primary-package.js';

const nevra = (name: string): Nevra => ({ name, epoch: '0', version: '1', release: '1', arch: 'noarch' });

const content = (name: string) => new DeclarativeContent({ typeId: 'rpm.package', key: { name }, metadata: { description: 'x'.repeat(1000) } });
const unitOf = (dc: DeclarativeContent): UnitRef => ({ unitId: `id-${String(dc.key['name'])}`, typeId: dc.typeId, key: dc.key });

describe('advisory package links (multi-level discovery)', () => {
  test('only packages advisories name are remembered, and their futures give the unit ids', async () => {
    const links = new AdvisoryPackageLinks(10);
    links.want(nevra('a'));
    links.want(nevra('c'));
    const [a, b, c] = [content('a'), content('b'), content('c')];
    links.offer(nevra('a'), a);
    links.offer(nevra('b'), b);
    links.offer(nevra('c'), c);
    const ids = links.unitIds(['c', 'b', 'a', 'ghost'].map(nevra));
    // the pipeline saves the packages later; the advisory waits for them
    setTimeout(() => {
      c.resolve(unitOf(c));
      a.resolve(unitOf(a));
    }, 10);
    await expect(ids).resolves.toEqual(['id-c', 'id-a']);
  });

  test('the first package offered under a NEVRA wins', async () => {
    const links = new AdvisoryPackageLinks(10);
    links.want(nevra('a'));
    const [first, second] = [content('a'), content('a')];
    links.offer(nevra('a'), first);
    links.offer(nevra('a'), second);
    first.resolve({ unitId: 'first', typeId: 'rpm.package', key: {} });
    second.resolve({ unitId: 'second', typeId: 'rpm.package', key: {} });
    await expect(links.unitIds([nevra('a')])).resolves.toEqual(['first']);
  });

  test('beyond maxLinks, NEVRAs are counted as overflow and never linked', async () => {
    const links = new AdvisoryPackageLinks(2);
    for (const name of ['a', 'b', 'c', 'd', 'a']) links.want(nevra(name));
    expect(links.wantedCount).toBe(2);
    expect(links.overflow).toBe(2);
    const d = content('d');
    links.offer(nevra('d'), d);
    d.resolve(unitOf(d));
    await expect(links.unitIds([nevra('d')])).resolves.toEqual([]);
  });

  test('saved packages shrink to their unit ids, so their content can be freed', async () => {
    const links = new AdvisoryPackageLinks(5000);
    const contents: DeclarativeContent[] = [];
    for (let i = 0; i < 3000; i++) {
      links.want(nevra(`p${i}`));
      const dc = content(`p${i}`);
      contents.push(dc);
      links.offer(nevra(`p${i}`), dc);
      dc.resolve(unitOf(dc)); // saved at once
    }
    expect(links.heldContents).toBeLessThan(1024);
    await expect(links.unitIds([nevra('p0'), nevra('p2999')])).resolves.toEqual(['id-p0', 'id-p2999']);
  });
});
