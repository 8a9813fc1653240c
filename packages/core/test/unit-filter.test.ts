import { ErrorCodes, isTributaryError } from '@tributary/plugin-api';
import { compileFilter, parseFilter } from '../src/filter/unit-filter.js';

const kernel = { key: { name: 'kernel', epoch: '0', version: '6.1', release: '1.fc40', arch: 'x86_64' }, metadata: { summary: 'The Linux kernel', provides: ['kernel-core', 'kmod(x)'], size: 1234, location: { href: 'Packages/k/kernel-6.1.rpm' }, 'odd.name': 'dotted' } };
const headers = { key: { name: 'kernel-headers', epoch: '0', version: '6.1', release: '1.fc40', arch: 'noarch' }, metadata: { summary: 'Headers' } };
const foo = { key: { name: 'foo', epoch: '2', version: '1', release: '1', arch: 'i686' }, metadata: {} };
const units = [kernel, headers, foo];

const matching = (filter: string) => units.filter((unit) => compileFilter(filter).matches(unit)).map((unit) => unit.key.name);

function failure(filter: string): { message: string; details: Record<string, unknown> } {
  try {
    parseFilter(filter);
  } catch (error) {
    if (isTributaryError(error, ErrorCodes.FILTER_INVALID)) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(filter)} to be refused`);
}

describe('parsing', () => {
  test('and binds tighter than or, not tighter than both; parentheses group', () => {
    expect(parseFilter('a=1 or b=2 and not c=3')).toEqual({
      kind: 'or',
      left: { kind: 'compare', field: 'a', op: '=', value: { text: '1', glob: false } },
      right: {
        kind: 'and',
        left: { kind: 'compare', field: 'b', op: '=', value: { text: '2', glob: false } },
        right: { kind: 'not', operand: { kind: 'compare', field: 'c', op: '=', value: { text: '3', glob: false } } },
      },
    });
    expect(parseFilter('(a=1 or b=2) and c!=3')).toMatchObject({ kind: 'and', left: { kind: 'or' }, right: { kind: 'compare', op: '!=' } });
  });

  test('lists, globs, quoted values and keywords in any case', () => {
    expect(parseFilter('arch IN (x86_64, "no arch", *64)')).toEqual({
      kind: 'in',
      field: 'arch',
      negated: false,
      values: [
        { text: 'x86_64', glob: false },
        { text: 'no arch', glob: false },
        { text: '*64', glob: true },
      ],
    });
    expect(parseFilter("name Not In ('a*')")).toEqual({ kind: 'in', field: 'name', negated: true, values: [{ text: 'a*', glob: false }] });
    expect(parseFilter(`summary="say \\"hi\\" (a=b, c!)"`)).toMatchObject({ value: { text: 'say "hi" (a=b, c!)', glob: false } });
  });

  test.each([
    ['', 0, 'a filter expression'],
    ['name=kernel* and', 16, 'a field name'],
    ['name=', 5, 'a value'],
    ['name kernel', 5, "'=', '!=', 'in' or 'not in' after field 'name'"],
    ['(name=a', 7, "')'"],
    ['name=a)', 6, "'and', 'or' or the end"],
    ['arch in x86_64', 8, "'(' to start the list"],
    ['arch in (a, b', 13, "',' or ')'"],
    ['arch in (a,)', 11, 'a value'],
    ['name=a b=c', 7, "'and', 'or' or the end"],
    ['name="open', 5, 'a closing " for the string started here'],
    ['name!kernel', 4, "'!='"],
    ['and=1', 0, 'a field name'],
    ['9lives=1', 0, 'a field name'],
    ['name not x', 9, "'in' after 'not'"],
    ['not', 3, 'a field name'],
  ])('%j is TRIBUTARY_ERR_FILTER_INVALID at position %i, expecting %s', (filter, position, expected) => {
    const error = failure(filter);
    expect(error.details).toMatchObject({ position, column: position + 1 });
    expect(String(error.details['expected'])).toContain(expected);
    expect(error.message).toContain(`at character ${position + 1}: expected`);
  });
});

describe('evaluating', () => {
  test('a glob matches the whole value; an exact value only itself', () => {
    expect(matching('name=kernel*')).toEqual(['kernel', 'kernel-headers']);
    expect(matching('name=kernel')).toEqual(['kernel']);
    expect(matching('name=*headers')).toEqual(['kernel-headers']);
    expect(matching('name=kern?l')).toEqual(['kernel']);
    expect(matching('name={foo,kernel}')).toEqual(['kernel', 'foo']);
    // a comma inside braces is the glob's, not the list's
    expect(matching('arch in ({x86_64,noarch}, i686)')).toEqual(['kernel', 'kernel-headers', 'foo']);
    expect(matching('arch=[xi]*')).toEqual(['kernel', 'foo']);
    expect(matching('name=KERNEL*')).toEqual([]);
  });

  test('a quoted value is compared exactly, glob characters and all', () => {
    expect(matching('name="kernel*"')).toEqual([]);
    expect(matching('summary="The Linux kernel"')).toEqual(['kernel']);
  });

  test('!=, in, not in, and, or, not', () => {
    expect(matching('name!=foo')).toEqual(['kernel', 'kernel-headers']);
    expect(matching('arch in (x86_64, noarch)')).toEqual(['kernel', 'kernel-headers']);
    expect(matching('arch not in (x86_64, noarch)')).toEqual(['foo']);
    expect(matching('name=kernel* and not arch=noarch')).toEqual(['kernel']);
    expect(matching('name=foo or arch=noarch')).toEqual(['kernel-headers', 'foo']);
    expect(matching('not (name=foo or arch=noarch)')).toEqual(['kernel']);
    expect(matching('(name=foo or name=kernel) and epoch=0')).toEqual(['kernel']);
  });

  test('fields: the key first, then the metadata; key. and metadata. say which; dots go into objects; lists match by any element; numbers as text', () => {
    expect(matching('summary=Headers')).toEqual(['kernel-headers']);
    expect(matching('key.summary=Headers')).toEqual([]);
    expect(matching('metadata.summary=Headers')).toEqual(['kernel-headers']);
    expect(matching('metadata.name=kernel')).toEqual([]);
    expect(matching('provides=kmod*')).toEqual(['kernel']);
    expect(matching('location.href=*kernel-6.1.rpm')).toEqual(['kernel']);
    expect(matching('metadata.odd.name=dotted')).toEqual(['kernel']);
    expect(matching('size=1234')).toEqual(['kernel']);
    expect(matching('epoch in (2)')).toEqual(['foo']);
  });

  test('a missing field equals nothing, so != and not in match it', () => {
    expect(matching('missing=*')).toEqual([]);
    expect(matching('missing!=x')).toEqual(['kernel', 'kernel-headers', 'foo']);
    expect(matching('summary not in (Headers)')).toEqual(['kernel', 'foo']);
    // an object is no value
    expect(matching('location=*')).toEqual([]);
  });
});
