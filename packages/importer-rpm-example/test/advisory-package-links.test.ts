import { DeclarativeContent, type UnitRef } from '@tributary/plugin-api';
import { AdvisoryPackageLinks } from '../src/first-stage/advisory-package-links.js';

const content = (name: string) => new DeclarativeContent({ typeId: 'rpm.package', key: { name }, metadata: { description: 'x'.repeat(1000) } });
const unitOf = (dc: DeclarativeContent): UnitRef => ({ unitId: `id-${String(dc.key['name'])}`, typeId: dc.typeId, key: dc.key });

describe('advisory package links (multi-level discovery)', () => {
  test('only packages advisories name are remembered, and their futures give the unit ids', async () => {
    const links = new AdvisoryPackageLinks(10);
    links.want('a');
    links.want('c');
    const [a, b, c] = [content('a'), content('b'), content('c')];
    links.offer('a', a);
    links.offer('b', b);
    links.offer('c', c);
    const ids = links.unitIds(['c', 'b', 'a', 'ghost']);
    // the pipeline saves the packages later; the advisory waits for them
    setTimeout(() => {
      c.resolve(unitOf(c));
      a.resolve(unitOf(a));
    }, 10);
    await expect(ids).resolves.toEqual(['id-c', 'id-a']);
  });

  test('the first package offered under a NEVRA wins', async () => {
    const links = new AdvisoryPackageLinks(10);
    links.want('a');
    const [first, second] = [content('a'), content('a')];
    links.offer('a', first);
    links.offer('a', second);
    first.resolve({ unitId: 'first', typeId: 'rpm.package', key: {} });
    second.resolve({ unitId: 'second', typeId: 'rpm.package', key: {} });
    await expect(links.unitIds(['a'])).resolves.toEqual(['first']);
  });

  test('beyond maxLinks, NEVRAs are counted as overflow and never linked', async () => {
    const links = new AdvisoryPackageLinks(2);
    for (const nevra of ['a', 'b', 'c', 'd', 'a']) links.want(nevra);
    expect(links.wantedCount).toBe(2);
    expect(links.overflow).toBe(2);
    const d = content('d');
    links.offer('d', d);
    d.resolve(unitOf(d));
    await expect(links.unitIds(['d'])).resolves.toEqual([]);
  });

  test('saved packages shrink to their unit refs, so their content can be freed', async () => {
    const links = new AdvisoryPackageLinks(5000);
    const contents: DeclarativeContent[] = [];
    for (let i = 0; i < 3000; i++) {
      links.want(`p${i}`);
      const dc = content(`p${i}`);
      contents.push(dc);
      links.offer(`p${i}`, dc);
      dc.resolve(unitOf(dc)); // saved at once
    }
    expect(links.heldContents).toBeLessThan(1024);
    await expect(links.unitIds(['p0', 'p2999'])).resolves.toEqual(['id-p0', 'id-p2999']);
  });
});
