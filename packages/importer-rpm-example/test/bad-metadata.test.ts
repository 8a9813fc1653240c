import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { ErrorCodes, isTributaryError, type TributaryError } from '@tributary/plugin-api';
import {
  parseRepomd,
  readMetadataRecords,
  readPrimaryPackages,
  readPrimaryPackagesInThread,
  readXmlRecords,
  UPDATEINFO_RECORDS,
  type PrimaryPackage,
} from '@tributary/importer-rpm-example';
import { buildRpmRepo } from '../../../test/fixtures/rpm/build-rpm-repo.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'tributary-rpm-bad-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const PACKAGE = `<package type="rpm"><name>a</name><arch>noarch</arch><version epoch="0" ver="1" rel="1"/>
  <checksum type="sha256" pkgid="YES">${'ab'.repeat(32)}</checksum><location href="Packages/a-1-1.noarch.rpm"/></package>`;
const PRIMARY = `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" packages="1">\n${PACKAGE}\n</metadata>\n`;

/** Writes `bytes` as `name` and parses it as primary; returns the error it fails with. */
async function primaryError(name: string, bytes: Buffer | string, options: { openSize?: number; maxBytes?: number } = {}): Promise<TributaryError> {
  const file = path.join(work, name.replace(/\//g, '_'));
  await writeFile(file, bytes);
  try {
    const source = { path: file, href: `repodata/${name}`, type: 'primary', ...(options.openSize !== undefined ? { openSize: options.openSize } : {}) };
    for await (const packages of readPrimaryPackages(source, { maxBytes: options.maxBytes ?? 1 << 30 })) void packages;
  } catch (error) {
    if (isTributaryError(error)) return error;
    throw error;
  }
  throw new Error(`${name} was accepted`);
}

/** Writes `xml` as `name` and reads its packages, with what it warned of. */
async function primaryPackages(name: string, xml: string, openDigests?: Record<string, string>): Promise<{ packages: PrimaryPackage[]; warnings: string[] }> {
  const file = path.join(work, name);
  await writeFile(file, xml);
  const packages: PrimaryPackage[] = [];
  const warnings: string[] = [];
  const source = { path: file, href: `repodata/${name}`, type: 'primary', ...(openDigests ? { openDigests } : {}) };
  for await (const batch of readPrimaryPackages(source, { maxBytes: 1 << 30, onWarning: (message) => warnings.push(message) })) packages.push(...batch);
  return { packages, warnings };
}

async function xmlError(xml: string): Promise<TributaryError> {
  try {
    for await (const _ of readXmlRecords(Readable.from([Buffer.from(xml)]), { source: 'test.xml', root: 'metadata', records: new Set(['package']) })) void _;
  } catch (error) {
    if (isTributaryError(error)) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('compression', () => {
  test('a zchunk file is refused as an unsupported compression', async () => {
    const error = await primaryError('x-primary.xml.zck', Buffer.concat([Buffer.from('\0ZCK1'), Buffer.alloc(64)]));
    expect(error.code).toBe(ErrorCodes.COMPRESSION_UNSUPPORTED);
    expect(error.message).toContain('x-primary.xml.zck');
  });

  test('bytes of no known compression are refused, whatever the name says', async () => {
    const lz4 = Buffer.from([0x04, 0x22, 0x4d, 0x18, 1, 2, 3, 4, 5, 6]);
    expect((await primaryError('x-primary.xml.gz', lz4)).code).toBe(ErrorCodes.COMPRESSION_UNSUPPORTED);
    expect((await primaryError('x-primary', lz4)).code).toBe(ErrorCodes.COMPRESSION_UNSUPPORTED);
  });

  test('a name and magic that disagree are refused', async () => {
    const error = await primaryError('x-primary.xml.xz', gzipSync(PRIMARY));
    expect(error.code).toBe(ErrorCodes.COMPRESSION_UNSUPPORTED);
    expect(error.message).toContain('name says xz but its bytes are gzip');
  });

  test('corrupt gzip data is an encoding error, not a crash', async () => {
    const gz = gzipSync(PRIMARY.repeat(1));
    const corrupt = Buffer.concat([gz.subarray(0, 12), Buffer.alloc(40, 0xff), gz.subarray(52)]);
    expect((await primaryError('corrupt-primary.xml.gz', corrupt)).code).toBe(ErrorCodes.ENCODING_INVALID);
    expect((await primaryError('cut-primary.xml.gz', gz.subarray(0, gz.length - 12))).code).toBe(ErrorCodes.ENCODING_INVALID);
  });
});

describe('decompression bombs', () => {
  const bombXml = () => Buffer.concat([Buffer.from('<metadata>'), Buffer.alloc(64 * 1024 * 1024, 0x20), Buffer.from('</metadata>')]);

  test('a gzip that inflates past repomd open-size stops at the open-size', async () => {
    const error = await primaryError('bomb-primary.xml.gz', gzipSync(bombXml(), { level: 1 }), { openSize: 4096 });
    expect(error.code).toBe(ErrorCodes.DECOMPRESSION_LIMIT);
    expect(error.message).toContain('open-size 4096');
    expect(error.details['seenBytes']).toBeLessThan(4 * 1024 * 1024);
  });

  test('without open-size (or with a lying one) the hard cap stops it', async () => {
    const gz = gzipSync(bombXml(), { level: 1 });
    for (const openSize of [undefined, 10 * 1024 ** 3]) {
      const error = await primaryError('bomb2-primary.xml.gz', gz, { maxBytes: 1024 * 1024, ...(openSize ? { openSize } : {}) });
      expect(error.code).toBe(ErrorCodes.DECOMPRESSION_LIMIT);
      expect(error.message).toContain('hard cap of 1048576 bytes');
      expect(error.details['seenBytes']).toBeLessThan(4 * 1024 * 1024);
    }
  });

  test('a zstd bomb made by the zstd CLI is stopped too', async () => {
    const zst = execFileSync('zstd', ['-q', '-c', '-1'], { input: bombXml(), maxBuffer: 1 << 28 });
    const error = await primaryError('bomb-primary.xml.zst', zst, { maxBytes: 1024 * 1024 });
    expect(error.code).toBe(ErrorCodes.DECOMPRESSION_LIMIT);
  });

  test('a file decompressing to less than its open-size is a size mismatch', async () => {
    const error = await primaryError('short-primary.xml.gz', gzipSync(PRIMARY), { openSize: Buffer.byteLength(PRIMARY) + 1 });
    expect(error.code).toBe(ErrorCodes.SIZE_MISMATCH);
  });
});

describe('malformed XML', () => {
  test('a mismatched closing tag names line and column', async () => {
    const error = await xmlError('<metadata>\n<package>\n  <name>a</nam>\n</package></metadata>');
    expect(error.code).toBe(ErrorCodes.XML_INVALID);
    expect(error.details).toMatchObject({ line: 3 });
    expect(error.message).toMatch(/line 3 column \d+/);
  });

  test('truncated primary (valid gzip of half the XML) is refused', async () => {
    const real = await readFile(await firstRealPrimary());
    const xml = execFileSync('gzip', ['-dc'], { input: real });
    const error = await primaryError('truncated-primary.xml.gz', gzipSync(xml.subarray(0, Math.floor(xml.length / 2))));
    expect(error.code).toBe(ErrorCodes.XML_INVALID);
    expect(error.details['line']).toBeGreaterThan(1);
  });

  test('an empty document and a wrong root (an HTML error page) are refused', async () => {
    expect((await primaryError('empty-primary.xml', '')).code).toBe(ErrorCodes.COMPRESSION_UNSUPPORTED);
    expect((await primaryError('blank-primary.xml', '   \n')).code).toBe(ErrorCodes.COMPRESSION_UNSUPPORTED);
    const html = await primaryError('html-primary.xml', '<html><body>404</body></html>');
    expect(html.code).toBe(ErrorCodes.XML_INVALID);
    expect(html.message).toContain('expected <metadata>');
  });

  test('bytes that are not UTF-8, or a declared non-UTF-8 encoding, are encoding errors', async () => {
    const latin1 = Buffer.concat([Buffer.from('<metadata><package><name>caf'), Buffer.from([0xe9]), Buffer.from('</name></package></metadata>')]);
    expect((await primaryError('latin1-primary.xml', latin1)).code).toBe(ErrorCodes.ENCODING_INVALID);
    expect((await primaryError('decl-primary.xml', '<?xml version="1.0" encoding="ISO-8859-1"?><metadata/>')).code).toBe(ErrorCodes.ENCODING_INVALID);
  });

  test('a package without checksum, or with an unknown checksum type, names its line', async () => {
    const noChecksum = PRIMARY.replace(/<checksum[^]*?<\/checksum>/, '');
    const error = await primaryError('nochecksum-primary.xml', noChecksum);
    expect(error.code).toBe(ErrorCodes.XML_INVALID);
    expect(error.message).toContain('package a has no <checksum>');
    expect(error.message).toContain('line 3');
    const sha3 = await primaryError('sha3-primary.xml', PRIMARY.replace('type="sha256"', 'type="sha3-256"'));
    expect(sha3.code).toBe(ErrorCodes.DIGEST_INVALID);
  });
});

describe('package NEVRA fields (issue 19 item 9)', () => {
  const withVersion = (attributes: string) => PRIMARY.replace('epoch="0" ver="1" rel="1"', attributes);

  test.each([
    ['epoch="abc" ver="1" rel="1"', 'epoch "abc"'],
    ['epoch="-1" ver="1" rel="1"', 'epoch "-1"'],
    ['epoch="1.5" ver="1" rel="1"', 'epoch "1.5"'],
    ['epoch="4294967296" ver="1" rel="1"', 'epoch "4294967296"'],
    ['epoch="0" ver="1-2" rel="1"', `version "1-2" holds '-'`],
    ['epoch="0" ver="1" rel="1-fc40"', `release "1-fc40" holds '-'`],
    ['epoch="0" ver="1:2" rel="1"', `version "1:2" holds ':'`],
    ['epoch="0" ver="1 2" rel="1"', 'version "1 2" holds whitespace U+0020'],
    ['epoch="0" ver="1" rel="1&#9;x"', 'release "1\\tx" holds whitespace U+0009'],
    ['epoch="0" ver="1&#x85;" rel="1"', 'the control character U+0085'],
  ])('<version %s> is refused, naming the package and its line', async (attributes, problem) => {
    const error = await primaryError('nevra-primary.xml', withVersion(attributes));
    expect(error.code).toBe(ErrorCodes.XML_INVALID);
    expect(error.message).toContain('primary metadata repodata/nevra-primary.xml, line 3: package "a": its ');
    expect(error.message).toContain(problem);
    expect(error.details).toMatchObject({ line: 3, package: 'a' });
  });

  test.each([
    ['<name>a b</name>', 'name "a b" holds whitespace'],
    ['<name>a&#x9f;</name>', 'name "a\u009f" holds the control character U+009F'],
  ])('a name like %s is refused', async (element, problem) => {
    const error = await primaryError('name-primary.xml', PRIMARY.replace('<name>a</name>', element));
    expect(error.code).toBe(ErrorCodes.XML_INVALID);
    expect(error.message).toContain(problem);
  });

  test('an arch with whitespace inside is refused', async () => {
    const error = await primaryError('arch-primary.xml', PRIMARY.replace('<arch>noarch</arch>', '<arch>no arch</arch>'));
    expect(error.code).toBe(ErrorCodes.XML_INVALID);
    expect(error.message).toContain('arch "no arch" holds whitespace');
  });

  test('what rpm allows is kept as it is; an empty or missing epoch is 0, surrounding whitespace is trimmed', async () => {
    const read = async (attributes: string) => (await primaryPackages('ok-primary.xml', withVersion(attributes))).packages[0]!;
    expect(await read('epoch="" ver="1.0~rc1^git2+x_y" rel="0.1%{x}"')).toMatchObject({ epoch: '0', version: '1.0~rc1^git2+x_y', release: '0.1%{x}' });
    expect(await read('ver="1" rel="1"')).toMatchObject({ epoch: '0' });
    expect(await read('epoch=" 4294967295 " ver=" 2 " rel="3"')).toMatchObject({ epoch: '4294967295', version: '2', release: '3' });
  });
});

describe('primary packages count (issue 19 item 9)', () => {
  test('a count that agrees is not mentioned', async () => {
    expect((await primaryPackages('count-primary.xml', PRIMARY)).warnings).toEqual([]);
  });

  test.each([
    ['packages="2"', 'declares packages="2" but holds 1 <package> element(s)'],
    ['packages="abc"', 'has packages="abc", not a count, but holds 1'],
  ])('%s with one package is reported, and the package read', async (attribute, warning) => {
    const { packages, warnings } = await primaryPackages('count-primary.xml', PRIMARY.replace('packages="1"', attribute));
    expect(packages.map((p) => p.name)).toEqual(['a']);
    expect(warnings).toEqual([expect.stringContaining(`primary metadata repodata/count-primary.xml: <metadata> ${warning}`)]);
  });

  test('the warning crosses from the parsing thread', async () => {
    const file = path.join(work, 'thread-count-primary.xml');
    await writeFile(file, PRIMARY.replace('packages="1"', 'packages="0"'));
    const warnings: string[] = [];
    const names: string[] = [];
    const source = { path: file, href: 'repodata/thread-count-primary.xml', type: 'primary' };
    for await (const batch of readPrimaryPackagesInThread(source, { maxBytes: 1 << 30, onWarning: (message) => warnings.push(message) })) names.push(...batch.map((p) => p.name));
    expect(names).toEqual(['a']);
    expect(warnings).toEqual([expect.stringContaining('declares packages="0" but holds 1')]);
  });
});

describe('open-checksum (issue 19 item 9)', () => {
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

  test('a right one passes; every one given is checked', async () => {
    const { packages } = await primaryPackages('open-primary.xml', PRIMARY, { sha256: sha256(PRIMARY), sha1: createHash('sha1').update(PRIMARY).digest('hex') });
    expect(packages).toHaveLength(1);
  });

  test('a wrong one is TRIBUTARY_ERR_DIGEST_MISMATCH naming the file', async () => {
    const file = path.join(work, 'open-bad-primary.xml.gz');
    await writeFile(file, gzipSync(PRIMARY));
    const wrong = sha256('something else');
    let error: unknown;
    try {
      for await (const batch of readPrimaryPackages({ path: file, href: 'repodata/open-bad-primary.xml.gz', type: 'primary', openDigests: { sha256: wrong } }, { maxBytes: 1 << 30 })) void batch;
    } catch (e) {
      error = e;
    }
    expect(isTributaryError(error, ErrorCodes.DIGEST_MISMATCH)).toBe(true);
    expect((error as TributaryError).message).toContain(`primary metadata repodata/open-bad-primary.xml.gz: its decompressed content has sha256 ${sha256(PRIMARY)}, but repomd.xml's open-checksum says ${wrong}`);
    expect((error as TributaryError).details).toMatchObject({ source: 'primary metadata repodata/open-bad-primary.xml.gz', algorithm: 'sha256', expected: wrong });
  });

  test('a broken document gets its XML error, which names the line, not a checksum error', async () => {
    const truncated = PRIMARY.slice(0, PRIMARY.indexOf('</package>'));
    await expect(primaryPackages('open-cut-primary.xml', truncated, { sha256: sha256(PRIMARY) })).rejects.toMatchObject({ code: ErrorCodes.XML_INVALID });
  });

  test('updateinfo is checked too', async () => {
    const xml = '<updates><update><id>A-1</id></update></updates>';
    const file = path.join(work, 'open-updateinfo.xml');
    await writeFile(file, xml);
    const read = async (hex: string) => {
      for await (const record of readMetadataRecords({ path: file, href: 'repodata/open-updateinfo.xml', type: 'updateinfo', openDigests: { sha256: hex } }, UPDATEINFO_RECORDS, { maxBytes: 1 << 20 })) void record;
    };
    await read(sha256(xml));
    await expect(read(sha256('other'))).rejects.toMatchObject({ code: ErrorCodes.DIGEST_MISMATCH });
  });
});

describe('entities are never resolved nor expanded', () => {
  test('an external entity (XXE) is refused before anything is read', async () => {
    const error = await xmlError('<?xml version="1.0"?>\n<!DOCTYPE metadata [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<metadata><package><name>&xxe;</name></package></metadata>');
    expect(error.code).toBe(ErrorCodes.XML_ENTITY);
    expect(error.message).not.toContain('root:');
  });

  test('billion laughs is refused at the DOCTYPE', async () => {
    const entities = Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`).join('\n');
    const error = await xmlError(`<?xml version="1.0"?>\n<!DOCTYPE metadata [\n<!ENTITY lol0 "lol">\n${entities}\n]>\n<metadata>&lol9;</metadata>`);
    expect(error.code).toBe(ErrorCodes.XML_ENTITY);
  });

  test('a reference to an undeclared entity is an entity error; predefined ones are decoded', async () => {
    expect((await xmlError('<metadata><package><name>&nbsp;</name></package></metadata>')).code).toBe(ErrorCodes.XML_ENTITY);
    const records = [];
    for await (const r of readXmlRecords(Readable.from([Buffer.from('<metadata><package><name>a&amp;b&#x41;&lt;</name></package></metadata>')]), { source: 't', root: 'metadata', records: new Set(['package']) })) records.push(r);
    expect(records[0]!.children[0]!.text).toBe('a&bA<');
  });

  test('repomd.xml gets the same treatment', async () => {
    const xml = '<!DOCTYPE repomd [<!ENTITY x SYSTEM "http://127.0.0.1:9/">]><repomd>&x;</repomd>';
    await expect(parseRepomd(Readable.from([Buffer.from(xml)]), 'http://127.0.0.1/')).rejects.toMatchObject({ code: ErrorCodes.XML_ENTITY });
  });
});

describe('repomd.xml records', () => {
  const repomd = (data: string) => Readable.from([Buffer.from(`<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>7</revision>${data}</repomd>`)]);

  test('several checksums per record are all kept; the strongest names the unit', async () => {
    const parsed = await parseRepomd(
      repomd(`<data type="primary"><checksum type="sha">${'a'.repeat(40)}</checksum><checksum type="sha512">${'b'.repeat(128)}</checksum>
        <checksum type="blake3">zz</checksum><location xml:base="http://mirror.invalid/base" href="repodata/p.xml.gz"/><size>10</size><open-size>20</open-size><timestamp>1.5</timestamp></data>`),
      'http://origin.invalid/repo/',
    );
    expect(parsed.revision).toBe('7');
    expect(parsed.records[0]).toMatchObject({
      type: 'primary',
      digests: { sha1: 'a'.repeat(40), sha512: 'b'.repeat(128) },
      checksumType: 'sha512',
      url: 'http://mirror.invalid/base/repodata/p.xml.gz',
      relativePath: 'repodata/p.xml.gz',
      size: 10,
      openSize: 20,
      timestamp: 1,
    });
  });

  test('a record without location, or without a usable checksum, is refused with its line', async () => {
    await expect(parseRepomd(repomd(`<data type="primary"><checksum type="sha256">${'a'.repeat(64)}</checksum></data>`), 'http://h/')).rejects.toMatchObject({ code: ErrorCodes.XML_INVALID });
    await expect(parseRepomd(repomd(`<data type="primary"><checksum type="crc32">abcd</checksum><location href="a"/></data>`), 'http://h/')).rejects.toMatchObject({ code: ErrorCodes.DIGEST_INVALID });
    await expect(parseRepomd(repomd(`<data type="primary"><checksum type="sha256">abc</checksum><location href="a"/></data>`), 'http://h/')).rejects.toMatchObject({ code: ErrorCodes.DIGEST_INVALID });
  });
});

async function firstRealPrimary(): Promise<string> {
  const repo = await buildRpmRepo(path.join(work, 'real', 'repo'));
  const repomd = await readFile(path.join(repo.dir, 'repodata', 'repomd.xml'), 'utf8');
  const href = /<location href="([^"]+primary[^"]+)"/.exec(repomd)![1]!;
  return path.join(repo.dir, href);
}
