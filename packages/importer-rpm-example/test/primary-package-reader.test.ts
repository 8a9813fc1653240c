import { Readable } from 'node:stream';
import { ErrorCodes, isTributaryError } from '@tributary/plugin-api';
import { readPrimaryXml, type PrimaryPackage } from '@tributary/importer-rpm-example';

const CHECKSUM = 'ab'.repeat(32);

/** A primary.xml around `packages`, as createrepo_c writes it. */
const primary = (packages: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="1">\n${packages}</metadata>\n`;

const FULL = `<package type="rpm">
  <name>tb-tools</name>
  <arch>noarch</arch>
  <version epoch="2" ver="2.0" rel="3.fc40"/>
  <checksum type="sha256" pkgid="YES">${CHECKSUM.toUpperCase()}</checksum>
  <summary>Tools &amp; more</summary>
  <description>Line one &lt;b&gt;
line two &#233;t&#xE9; ✓</description>
  <packager>Tributary &lt;fixtures@tributary.invalid&gt;</packager>
  <url>https://tributary.invalid/tools</url>
  <time file="1700000100" build="1700000000"/>
  <size package="6120" installed="10" archive="412"/>
  <location xml:base="http://mirror.invalid/el9/" href="Packages/t/tb-tools-2.0-3.fc40.noarch.rpm"/>
  <format>
    <rpm:license>Apache-2.0</rpm:license>
    <rpm:vendor>Tributary fixtures</rpm:vendor>
    <rpm:group>Unspecified</rpm:group>
    <rpm:buildhost>build.tributary.invalid</rpm:buildhost>
    <rpm:sourcerpm>tb-tools-2.0-3.fc40.src.rpm</rpm:sourcerpm>
    <rpm:header-range start="4504" end="6001"/>
    <rpm:provides>
      <rpm:entry name="tb-tools" flags="EQ" epoch="2" ver="2.0" rel="3.fc40"/>
      <rpm:entry name="config(tb-tools)" flags="EQ" epoch="2" ver="2.0" rel="3.fc40"/>
    </rpm:provides>
    <rpm:requires>
      <rpm:entry name="tb-hello" flags="GE" epoch="0" ver="1.1"/>
      <rpm:entry name="/bin/sh" pre="1"/>
    </rpm:requires>
    <rpm:obsoletes><rpm:entry name="tb-old"/></rpm:obsoletes>
    <file>/usr/bin/tb-tools</file>
  </format>
</package>
`;

/** The packages of `xml`, fed in chunks of `chunkSize` bytes (so every boundary, mid-character too, is crossed). */
async function packagesOf(xml: string, chunkSize = 1 << 20): Promise<PrimaryPackage[]> {
  const bytes = Buffer.from(xml);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  const out: PrimaryPackage[] = [];
  for await (const batch of readPrimaryXml(Readable.from(chunks), 'primary test')) out.push(...batch);
  return out;
}

async function failure(xml: string): Promise<{ code: string; message: string; line: unknown }> {
  try {
    await packagesOf(xml);
  } catch (error) {
    if (isTributaryError(error)) return { code: error.code, message: error.message, line: error.details['line'] };
    throw error;
  }
  throw new Error('accepted');
}

describe('primary.xml packages', () => {
  test('every field the importer keeps, with references decoded, in any chunking', async () => {
    const expected: PrimaryPackage = {
      name: 'tb-tools',
      epoch: '2',
      version: '2.0',
      release: '3.fc40',
      arch: 'noarch',
      checksumType: 'sha256',
      checksum: CHECKSUM,
      summary: 'Tools & more',
      description: 'Line one <b>\nline two été ✓',
      url: 'https://tributary.invalid/tools',
      packager: 'Tributary <fixtures@tributary.invalid>',
      license: 'Apache-2.0',
      vendor: 'Tributary fixtures',
      group: 'Unspecified',
      buildhost: 'build.tributary.invalid',
      sourcerpm: 'tb-tools-2.0-3.fc40.src.rpm',
      size: { package: 6120, installed: 10, archive: 412 },
      time: { file: 1700000100, build: 1700000000 },
      location: { href: 'Packages/t/tb-tools-2.0-3.fc40.noarch.rpm', xmlBase: 'http://mirror.invalid/el9/' },
      headerRange: { start: 4504, end: 6001 },
      provides: [
        ['tb-tools', 'EQ', '2', '2.0', '3.fc40'],
        ['config(tb-tools)', 'EQ', '2', '2.0', '3.fc40'],
      ],
      requires: [
        ['tb-hello', 'GE', '0', '1.1'],
        ['/bin/sh', null, null, null, null, true],
      ],
      conflicts: [],
      obsoletes: [['tb-old']],
      suggests: [],
      enhances: [],
      recommends: [],
      supplements: [],
      files: [['/usr/bin/tb-tools']],
      line: 3,
    };
    for (const chunkSize of [1, 2, 7, 64, 1 << 20]) expect(await packagesOf(primary(FULL + FULL.replace('tb-tools<', 'tb-more<')), chunkSize)).toEqual([expected, { ...expected, name: 'tb-more', line: 35 }]);
  });

  test('the first element of a kind counts; unknown elements, other roots children and prefixes do not matter', async () => {
    const xml = primary(`<other><package><name>not-a-record</name></package></other>
<package><name>a</name><name>b</name><arch>x86_64</arch><version ver="1" rel="1"/><version ver="9" rel="9"/>
<checksum type="sha256">${CHECKSUM}</checksum><location href="a.rpm"/><unknown><name>c</name></unknown>
<common:format xmlns:common="x"><rpm:provides><rpm:entry name="p1"/></rpm:provides><rpm:provides><rpm:entry name="p2"/></rpm:provides>
<rpm:license>MIT</rpm:license><rpm:license>GPL</rpm:license><rpm:requires><entry name="r1"/><other name="no"/><entry name=""/></rpm:requires></common:format>
<format><rpm:vendor>second format</rpm:vendor></format></package>`);
    const [p] = await packagesOf(xml);
    expect(p).toMatchObject({ name: 'a', epoch: '0', version: '1', release: '1', provides: [['p1']], requires: [['r1']], license: 'MIT', vendor: '', size: {}, time: {} });
  });

  test('an element holding elements has no text; sizes that are no integers are left out', async () => {
    const xml = primary(`<package><name>a</name><arch>noarch</arch><version ver="1" rel="1"/><checksum type="sha256">${CHECKSUM}</checksum>
<location href="a.rpm"/><summary>before<b>bold</b>after</summary><description>kept<file>/skipped</file> around</description>
<size package="12" installed="-1" archive="x"/><time build="7"/></package>`);
    const [p] = await packagesOf(xml);
    expect(p).toMatchObject({ summary: '', description: 'kept around', size: { package: 12 }, time: { build: 7 } });
  });

  const parts = { name: '<name>a</name>', arch: '<arch>noarch</arch>', version: '<version ver="1" rel="1"/>', checksum: `<checksum type="sha256">${CHECKSUM}</checksum>`, location: '<location href="a.rpm"/>' };
  test.each([
    ['name', { name: '<name> </name>' }, 'a <package> has no <name>'],
    ['arch', { arch: '<arch/>' }, 'package a has no <arch>'],
    ['version', { version: '' }, 'package a has no <version>'],
    ['release', { version: '<version ver="1"/>' }, 'package a has no release (<version rel>)'],
    ['checksum', { checksum: '' }, 'package a has no <checksum>'],
    ['location', { location: '<location/>' }, 'package a has no <location href>'],
  ])('a package without %s names itself and its line', async (_what, broken, message) => {
    const valid = Object.values(parts).join('');
    const error = await failure(primary(`<package>${valid}</package>\n<package>${Object.values({ ...parts, ...broken }).join('')}</package>\n`));
    expect(error).toEqual({ code: ErrorCodes.XML_INVALID, message: expect.stringContaining(message), line: 4 });
  });

  test('a bad checksum is a digest error; bad references are refused even in text the importer drops', async () => {
    const valid = `<name>a</name><arch>noarch</arch><version ver="1" rel="1"/><location href="a.rpm"/>`;
    expect((await failure(primary(`<package>${valid}<checksum type="sha256">abc</checksum></package>`))).code).toBe(ErrorCodes.DIGEST_INVALID);
    const withChecksum = `${valid}<checksum type="sha256">${CHECKSUM}</checksum>`;
    expect((await failure(primary(`<package>${withChecksum}<format><file>/a &nbsp; b</file></format></package>`))).code).toBe(ErrorCodes.XML_ENTITY);
    expect((await failure(primary(`<package>${withChecksum}<format><rpm:requires><rpm:entry name="x" ver="&e;"/></rpm:requires></format></package>`))).code).toBe(ErrorCodes.XML_ENTITY);
    expect((await failure(primary(`<package>${withChecksum}</package>\n  fish & chips\n`))).code).toBe(ErrorCodes.XML_INVALID);
  });

  test('another root element (an HTML error page) is refused', async () => {
    expect(await failure('<html><body>404</body></html>')).toMatchObject({ code: ErrorCodes.XML_INVALID, message: expect.stringContaining('expected <metadata>') });
  });
});
