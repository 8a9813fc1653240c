import type { Nevra } from '@tributary/importer-rpm-example';
import { NevraSet } from '../src/first-stage/nevra-set.js';

const nevra = (name: string, epoch = '0', version = '1.0', release = '1', arch = 'x86_64'): Nevra => ({ name, epoch, version, release, arch });

describe('the set of NEVRAs a sync has seen', () => {
  test('a NEVRA is added once; the same one again, whatever object it comes in, is a duplicate', () => {
    const seen = new NevraSet();
    expect(seen.add(nevra('bash'))).toBe(true);
    expect(seen.add(nevra('bash'))).toBe(false);
    expect(seen.has(nevra('bash'))).toBe(true);
    expect(seen.has(nevra('bash', '1'))).toBe(false);
    expect(seen.size).toBe(1);
  });

  test('an empty epoch is epoch 0, and NEVRAs differing in any part are distinct', () => {
    const seen = new NevraSet();
    expect(seen.add(nevra('a', ''))).toBe(true);
    expect(seen.add(nevra('a', '0'))).toBe(false);
    for (const other of [nevra('a', '0', '1.0', '1', 'noarch'), nevra('a', '0', '1.0', '2'), nevra('a', '0', '1.1'), nevra('b')]) expect(seen.add(other)).toBe(true);
  });

  test('tens of thousands of distinct NEVRAs are all told apart and found again (the table grows six times)', () => {
    const seen = new NevraSet();
    const count = 20_000;
    const nth = (i: number) => nevra(`pkg-${i % 1000}`, String(i % 3), `${i}.0`, '1.fc40', i % 2 ? 'x86_64' : 'noarch');
    let added = 0;
    for (let i = 0; i < count; i++) if (seen.add(nth(i))) added++;
    expect(added).toBe(count);
    expect(seen.size).toBe(count);
    let found = 0;
    for (let i = 0; i < count; i++) if (!seen.add(nth(i))) found++;
    expect(found).toBe(count);
    expect(seen.has(nevra('pkg-0', '0', '0.0', '1.fc40', 'x86_64'))).toBe(false);
  });
});
