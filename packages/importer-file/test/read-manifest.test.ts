import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isTributaryError, type TributaryError } from '@tributary/plugin-api';
import { pathHash, readManifest, scanManifest, type ManifestEntry } from '@tributary/importer-file';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'read-manifest-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
async function read(content: string | Buffer, options: { maxLineBytes?: number } = {}): Promise<{ entries: ManifestEntry[]; error?: TributaryError }> {
  const file = path.join(dir, `manifest-${fileCounter++}`);
  writeFileSync(file, content);
  const entries: ManifestEntry[] = [];
  try {
    for await (const entry of readManifest(file, { source: 'http://mirror/PULP_MANIFEST', ...options })) entries.push(entry);
    return { entries };
  } catch (error) {
    if (!isTributaryError(error)) throw error;
    return { entries, error };
  }
}

async function expectInvalid(content: string | Buffer, line: number, problem: RegExp, code = 'TRIBUTARY_ERR_MANIFEST_INVALID') {
  const { error } = await read(content);
  expect(error).toBeDefined();
  expect(error!.code).toBe(code);
  expect(error!.details['line']).toBe(line);
  expect(error!.message).toContain(`http://mirror/PULP_MANIFEST line ${line}:`);
  expect(error!.message).toMatch(problem);
}

describe('readManifest', () => {
  it('reads entries, skipping blank lines and comments, splitting from the right', async () => {
    const { entries, error } = await read(
      ['# a comment', '', 'a.txt,' + A + ',3', '   ', 'dir/with, comma,and more.txt,' + B.toUpperCase() + ',0', '#x,y,z'].join('\n'),
    );
    expect(error).toBeUndefined();
    expect(entries).toEqual([
      { relativePath: 'a.txt', sha256: A, size: 3, line: 3 },
      { relativePath: 'dir/with, comma,and more.txt', sha256: B, size: 0, line: 5 },
    ]);
  });

  it('accepts CRLF line ends, a byte-order mark and a missing final newline', async () => {
    const { entries } = await read(`\uFEFFa.txt,${A},1\r\nb.txt,${B},2`);
    expect(entries.map((e) => [e.relativePath, e.size, e.line])).toEqual([
      ['a.txt', 1, 1],
      ['b.txt', 2, 2],
    ]);
  });

  it('keeps one entry for a path listed twice with the same digest', async () => {
    const { entries, error } = await read(`a.txt,${A},1\nb.txt,${B},2\na.txt,${A.toUpperCase()},1\n`);
    expect(error).toBeUndefined();
    expect(entries.map((e) => e.relativePath)).toEqual(['a.txt', 'b.txt']);
  });

  it('refuses the same path twice with different digests, naming both lines', async () => {
    await expectInvalid(`a.txt,${A},1\nb.txt,${B},2\na.txt,${B},1\n`, 3, /"a.txt".*line 1/);
  });

  it.each([
    ['a single column', 'just-a-name', /expected 3 comma-separated columns.*found 1/],
    ['two columns', `a.txt,${A}`, /expected 3 comma-separated columns.*found 2/],
  ])('refuses a wrong column count: %s', async (_name, line, problem) => {
    await expectInvalid(`ok.txt,${A},1\n${line}\n`, 2, problem);
  });

  it.each([
    ['non-hex', `a.txt,${'g'.repeat(64)},1`, /not hex digits/],
    ['too short', `a.txt,${'a'.repeat(63)},1`, /has 63 characters/],
    ['too long', `a.txt,${'a'.repeat(65)},1`, /has 65 characters/],
    ['empty', `a.txt,,1`, /has 0 characters/],
    ['a sha1', `a.txt,${sha('x').slice(0, 40)},1`, /has 40 characters/],
  ])('refuses a bad digest: %s', async (_name, line, problem) => {
    await expectInvalid(`${line}\n`, 1, problem);
  });

  it.each([
    ['non-numeric', `a.txt,${A},twelve`, /size "twelve" is not a non-negative integer/],
    ['fractional', `a.txt,${A},1.5`, /not a non-negative integer/],
    ['empty', `a.txt,${A},`, /size "" is not a non-negative integer/],
    ['negative', `a.txt,${A},-5`, /size "-5" is negative/],
    ['beyond a safe integer', `a.txt,${A},99999999999999999999`, /too large/],
  ])('refuses a bad size: %s', async (_name, line, problem) => {
    await expectInvalid(`# header\n${line}\n`, 2, problem);
  });

  it.each([
    ["a '..' segment", '../etc/passwd', /'\.\.' segment/],
    ["a '..' segment inside", 'a/../../b', /'\.\.' segment/],
    ["a '.' segment", 'a/./b', /'\.' segment/],
    ['an absolute path', '/etc/passwd', /is absolute/],
    ['a drive letter', 'C:/x', /drive letter/],
    ['an empty segment', 'a//b', /empty segment/],
    ['a trailing slash', 'a/b/', /empty segment/],
    ['an empty path', '', /relative path is empty/],
    ['a NUL byte', 'a\u0000b', /NUL byte/],
    ['a control character', 'a\u0007b', /control character/],
    ['a backslash', 'a\\..\\b', /backslash/],
    ['an overlong segment', 'x'.repeat(256), /longer than 255 bytes/],
  ])('refuses a bad path: %s', async (_name, relativePath, problem) => {
    await expectInvalid(`ok.txt,${A},1\n\n${relativePath},${B},1\n`, 3, problem);
  });

  it('refuses non-UTF-8 bytes with a typed error naming the line', async () => {
    const content = Buffer.concat([Buffer.from(`a.txt,${A},1\nb.txt,${B},2\n`), Buffer.from([0x63, 0xff, 0xfe]), Buffer.from(`.txt,${A},3\n`)]);
    await expectInvalid(content, 3, /not valid UTF-8/, 'TRIBUTARY_ERR_ENCODING_INVALID');
  });

  it('refuses a line longer than the limit instead of buffering it', async () => {
    const { error } = await read(`a.txt,${A},1\n${'x'.repeat(5000)}`, { maxLineBytes: 1024 });
    expect(error?.code).toBe('TRIBUTARY_ERR_MANIFEST_INVALID');
    expect(error?.details['line']).toBe(2);
    expect(error?.message).toMatch(/longer than 1024 bytes/);
  });

  it('validates the whole manifest before yielding its first entry', async () => {
    const { entries, error } = await read(`a.txt,${A},1\nb.txt,${B},2\n${'c.txt,'.repeat(3)}\nd.txt,${B},oops\n`);
    expect(entries).toEqual([]);
    expect(error?.details['line']).toBe(3);
    const conflict = await read(`a.txt,${A},1\nb.txt,${B},2\na.txt,${B},1\n`);
    expect(conflict.entries).toEqual([]);
    expect(conflict.error?.details['line']).toBe(3);
  });

  it('streams a manifest far larger than one read chunk, multi-byte names across chunk edges included', async () => {
    const lines: string[] = [];
    const expected: Array<[string, string, number]> = [];
    for (let i = 0; i < 40_000; i++) {
      const name = `dir-${i % 97}/fïlé-ünïcødé-${'é'.repeat(i % 13)}-${i},part.bin`;
      const digest = sha(name);
      lines.push(`${name},${digest},${i}`);
      expected.push([name, digest, i]);
      if (i % 1000 === 0) lines.push('# checkpoint');
    }
    const content = lines.join('\n') + '\n';
    expect(Buffer.byteLength(content)).toBeGreaterThan(4 * 256 * 1024);
    const { entries, error } = await read(content);
    expect(error).toBeUndefined();
    expect(entries.map((e) => [e.relativePath, e.sha256, e.size])).toEqual(expected);
  });

  it('finds a non-UTF-8 line far into a large manifest', async () => {
    const good = Array.from({ length: 20_000 }, (_, i) => `f-${i}.bin,${A},${i}`).join('\n') + '\n';
    const content = Buffer.concat([Buffer.from(good), Buffer.from([0xc3, 0x28]), Buffer.from(`,${A},1\n`)]);
    await expectInvalid(content, 20_001, /not valid UTF-8/, 'TRIBUTARY_ERR_ENCODING_INVALID');
  });

  describe('duplicate detection compares colliding hashes exactly', () => {
    const everythingCollides = () => 42;

    it('keeps distinct paths that share a hash, and drops exact repeats', async () => {
      const file = path.join(dir, `collide-${fileCounter++}`);
      writeFileSync(file, `a.txt,${A},1\nb.txt,${A},1\na.txt,${A},1\nc.txt,${B},2\nb.txt,${A},1\n`);
      const scan = await scanManifest(file, { pathHash: everythingCollides });
      expect(scan).toEqual({ files: 3, repeatLines: new Set([3, 5]) });
      const entries: string[] = [];
      for await (const entry of readManifest(file, { pathHash: everythingCollides })) entries.push(`${entry.line}:${entry.relativePath}`);
      expect(entries).toEqual(['1:a.txt', '2:b.txt', '4:c.txt']);
    });

    it('refuses a conflicting repeat among colliding paths', async () => {
      const file = path.join(dir, `collide-${fileCounter++}`);
      writeFileSync(file, `a.txt,${A},1\nb.txt,${A},1\nb.txt,${B},1\n`);
      await expect(scanManifest(file, { pathHash: everythingCollides })).rejects.toMatchObject({
        code: 'TRIBUTARY_ERR_MANIFEST_INVALID',
        details: { line: 3 },
      });
    });

    it('spreads real paths: no collisions among 200,000 generated names', () => {
      const seen = new Set<number>();
      for (let i = 0; i < 200_000; i++) seen.add(pathHash(`files/${(i % 256).toString(16)}/file-${i}.bin`));
      expect(seen.size).toBe(200_000);
    });
  });
});

describe('progress', () => {
  it('tells the bytes read as it goes, up to the whole file, and not while checking it first', async () => {
    const file = path.join(dir, `manifest-${fileCounter++}`);
    const lines = Array.from({ length: 20_000 }, (_, i) => `dir/file-${i}.txt,${sha(String(i))},${i}`);
    const text = `${lines.join('\n')}\n`;
    writeFileSync(file, text);
    const seen: number[] = [];
    let entries = 0;
    for await (const entry of readManifest(file, { onRead: (bytes) => seen.push(bytes) })) {
      if (entries++ === 0) expect(seen.length).toBeLessThanOrEqual(1);
      expect(entry.relativePath).toMatch(/^dir\/file-/);
    }
    expect(entries).toBe(20_000);
    expect(seen.length).toBeGreaterThan(2);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe(Buffer.byteLength(text));
  });
});
