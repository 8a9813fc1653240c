/**
 * rpmvercmp and EVR comparison against the real rpm: the expected sign of every pair is what
 * Debian's rpm prints for it (`rpm.vercmp` in rpm's Lua, which parses `[epoch:]version[-release]`
 * and compares as rpmverCmp does), all pairs in one rpm process. Nothing here is hand-written
 * expectation; the comments only say what each group is about.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { compareEvr, parseEvr, rpmvercmp } from '../src/version/rpm-version-compare.js';

const run = promisify(execFile);

/** Pairs of versions (no `-` nor `:`): rpmvercmp itself. */
const VERSION_PAIRS: readonly (readonly [string, string])[] = [
  // plain numbers and segments
  ['1.0', '1.0'],
  ['1.0', '2.0'],
  ['2.0.1', '2.0'],
  ['2.0.1', '2.0.1.0'],
  ['4.999.9', '5.0'],
  ['20101121', '20101122'],
  ['10', '9'],
  ['1.10', '1.9'],
  ['123456789012345678901234567890', '123456789012345678901234567891'],
  // leading zeros
  ['10.0001', '10.1'],
  ['10.0001', '10.0039'],
  ['1.01', '1.1'],
  ['1.001', '1.0010'],
  ['007', '7'],
  // letters against digits and the end
  ['1.0a', '1.0'],
  ['1.0a', '1.0.1'],
  ['2.0.1a', '2.0.1'],
  ['5.5p1', '5.5p10'],
  ['5.5p2', '5.6p1'],
  ['10b2', '10a1'],
  ['1.0aa', '1.0a'],
  ['xyz.4', '8'],
  ['xyz10', 'xyz10.1'],
  ['6.0.rc1', '6.0'],
  ['1a', '1.1'],
  ['a', 'b'],
  ['A', 'a'],
  ['1.0Z', '1.0a'],
  // separators
  ['2_0', '2.0'],
  ['2.0', '2..0'],
  ['1.0+', '1.0'],
  ['1.0_1', '1.0.1'],
  ['+a', '_a'],
  ['1.0', '1.0.'],
  // tilde: before everything, the end included
  ['1.0~rc1', '1.0'],
  ['1.0~rc1', '1.0~rc2'],
  ['1.0~rc1~git123', '1.0~rc1'],
  ['1.0~~', '1.0~'],
  ['2.0~rc1', '2.0'],
  ['2.0~rc1', '1.9'],
  ['1.0~', '1.0'],
  ['~1', '0'],
  // caret: after the end, before anything else
  ['1.0^', '1.0'],
  ['1.0^git1', '1.0'],
  ['1.0^git1', '1.0.1'],
  ['1.0^git1', '1.0^git2'],
  ['1.0^20160101', '1.0^20160102'],
  ['1.0^git1~pre', '1.0^git1'],
  ['1.0~rc1^git1', '1.0~rc1'],
  ['1.0~rc1^git1', '1.0'],
  ['1.0^', '1.0a'],
  ['1.0^^', '1.0^'],
  // outside ASCII: separators
  ['1.0é1', '1.0.1'],
  ['1.1.α', '1.1.β'],
];

/** Pairs of EVRs (`[epoch:]version[-release]`): epochs, then versions, then releases. */
const EVR_PAIRS: readonly (readonly [string, string])[] = [
  ['1:1.0-1', '2.0-1'],
  ['0:2.0-1', '2.0-1'],
  ['1:1.0', '0:9.9'],
  ['2:1.0-1', '10:1.0-1'],
  ['00:1.0-1', '0:1.0-1'],
  [':1.0-1', '0:1.0-1'],
  [':1.0-1', '1:1.0-1'],
  ['1.0-1.el9_3', '1.0-1.el9'],
  ['1.0-1.el9_3', '1.0-1.el9_10'],
  ['1.0-1.fc39', '1.0-1.fc40'],
  ['1.0-10.fc39', '1.0-9.fc40'],
  ['1.0-2', '1.0-10'],
  ['1.0-1', '1.0'],
  ['5.14.0-362.8.1.el9_3', '5.14.0-362.13.1.el9_3'],
  ['2.0~rc1-1', '2.0-1'],
  ['2.0-0.1.rc1', '2.0-1'],
  ['1:2.0~rc1-1', '2.0-99'],
  ['3.1.4-1.module+el8.9.0+19579+5f3c6cb5', '3.1.4-1.module+el8.10.0+21318+8ac2e4e1'],
  ['1.0-1.el9^', '1.0-1.el9'],
];

let signs: Map<string, number>;

/** rpm's answers for every pair, from one `rpm --eval` of a Lua loop. */
async function rpmSigns(pairs: readonly (readonly [string, string])[]): Promise<Map<string, number>> {
  const lua = (text: string) => JSON.stringify(text); // the pairs hold no backslash, and Lua reads JSON's escapes of quotes
  const table = pairs.map(([a, b]) => `{${lua(a)},${lua(b)}}`).join(',');
  let stdout: string;
  try {
    // rpm's Lua print() adds no newline inside --eval: one line, the answers joined by spaces
    ({ stdout } = await run('rpm', ['--eval', `%{lua: local out = {} for _, p in ipairs({${table}}) do out[#out + 1] = rpm.vercmp(p[1], p[2]) end print(table.concat(out, ' '))}`]));
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error("this test needs Debian's rpm (`apt-get install rpm`) to compute the expected comparisons: rpm is not on PATH");
    throw new Error(`rpm --eval failed: ${e.stderr ?? e.message}`);
  }
  const answers = stdout.trim().split(' ');
  if (answers.length !== pairs.length || answers.some((a) => !/^(-1|0|1)$/.test(a))) throw new Error(`rpm printed ${answers.length} answers for ${pairs.length} pairs:\n${stdout}`);
  return new Map(pairs.map(([a, b], i) => [`${a}|${b}`, Number(answers[i])]));
}

const both = [...VERSION_PAIRS, ...EVR_PAIRS];
const swapped = both.map(([a, b]) => [b, a] as const);

beforeAll(async () => {
  signs = await rpmSigns([...both, ...swapped]);
});

test('the table has at least 40 pairs, each a real question for rpm', () => {
  expect(both.length).toBeGreaterThanOrEqual(40);
  for (const [a, b] of VERSION_PAIRS) expect(`${a}${b}`).not.toMatch(/[-:]/);
  // rpm answers every sign at least once
  expect(new Set([...signs.values()])).toEqual(new Set([-1, 0, 1]));
});

describe('rpmvercmp answers as rpm does', () => {
  test.each(VERSION_PAIRS.flatMap(([a, b]) => [[a, b], [b, a]] as const))('%s vs %s', (a, b) => {
    expect(rpmvercmp(a, b)).toBe(signs.get(`${a}|${b}`));
  });
});

describe('compareEvr answers as rpm does', () => {
  test.each([...VERSION_PAIRS, ...EVR_PAIRS].flatMap(([a, b]) => [[a, b], [b, a]] as const))('%s vs %s', (a, b) => {
    expect(compareEvr(parseEvr(a), parseEvr(b))).toBe(signs.get(`${a}|${b}`));
  });
});

describe('parseEvr splits as rpm does', () => {
  test('an epoch only before a colon after digits, the release after the last dash', () => {
    expect(parseEvr('1:2.0-3.fc40')).toEqual({ epoch: '1', version: '2.0', release: '3.fc40' });
    expect(parseEvr(':2.0')).toEqual({ epoch: '0', version: '2.0' });
    expect(parseEvr('2.0')).toEqual({ version: '2.0' });
    expect(parseEvr('a:1-2-3')).toEqual({ version: 'a:1-2', release: '3' });
  });
});

test('an empty epoch (as primary may give one) is epoch 0; a string ends at a NUL, as a C string does', () => {
  // neither can be put to rpm.vercmp: rpm's own parser makes "0" of an empty epoch, and a Lua string keeps its NUL
  expect(compareEvr({ epoch: '', version: '1.0', release: '1' }, { epoch: '0', version: '1.0', release: '1' })).toBe(0);
  expect(rpmvercmp('1.0\0zzz', '1.0')).toBe(0);
});
