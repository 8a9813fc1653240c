/**
 * Generates a realistic yum repository's metadata for the rpm-sync benchmark: primary.xml.gz with
 * N packages (about 2.5 KB of XML each, as Fedora's are: summary, description, a dozen requires,
 * a few provides and files), filelists.xml.gz (24 files and directories each, ~1.7 KB) and
 * other.xml.gz (4 changelog entries each, ~0.7 KB) in the same order, as createrepo_c writes them,
 * optionally updateinfo.xml.gz with advisories naming ten packages each, and a repomd.xml listing
 * them with checksums and sizes. Streams to disk: memory stays flat whatever N is. No RPM files
 * exist; an on_demand sync never fetches them.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';

export interface GeneratedPrimary {
  readonly packages: number;
  /** Advisories in updateinfo.xml.gz (0: there is none). */
  readonly advisories: number;
  /** Of primary.xml. */
  readonly openSize: number;
  readonly size: number;
  /** Path of primary.xml.gz on disk. */
  readonly primaryPath: string;
  /** filelists.xml.gz and other.xml.gz, as primary's. */
  readonly filelists: GeneratedFile;
  readonly other: GeneratedFile;
}

export interface GeneratedFile {
  readonly path: string;
  readonly openSize: number;
  readonly size: number;
}

/** How many packages each generated advisory lists. */
const PACKAGES_PER_ADVISORY = 10;

const WORDS = 'library runtime daemon client server utility toolkit binding module plugin parser compiler network graphics audio video kernel driver firmware shell editor document archive python perl ruby golang rust java'.split(' ');

function word(n: number): string {
  return WORDS[n % WORDS.length]!;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Name, epoch, version, release and arch of package `i`. */
function nevraOf(i: number) {
  return {
    name: `${word(i)}-${word(i >> 3)}-${i.toString(36)}`,
    epoch: i % 17 === 0 ? 1 : 0,
    version: `${1 + (i % 7)}.${i % 13}.${i % 5}`,
    release: `${1 + (i % 3)}.fc40`,
    arch: i % 11 === 0 ? 'noarch' : 'x86_64',
  };
}

/** One `<package>` element, deterministic in `i`. */
export function packageXml(i: number): string {
  const { name, epoch, version, release, arch } = nevraOf(i);
  const pkgid = createHash('sha256').update(`pkg-${i}`).digest('hex');
  const description = escapeXml(
    Array.from({ length: 3 }, (_, k) => `The ${word(i + k)} ${word(i * 3 + k)} of ${name} provides ${word(i + 2 * k)} support for ${word(i + 5 * k)} applications & tools.`).join(' '),
  );
  const requires = Array.from({ length: 10 }, (_, k) =>
    k % 4 === 0
      ? `      <rpm:entry name="lib${word(i + k)}.so.${k}()(64bit)"/>`
      : `      <rpm:entry name="${word(i + k)}-${word(k)}-common" flags="GE" epoch="0" ver="${1 + (k % 4)}.${k}"/>`,
  ).join('\n');
  const provides = Array.from({ length: 4 }, (_, k) => `      <rpm:entry name="${k === 0 ? name : `${name}(${word(k)})`}" flags="EQ" epoch="0" ver="${version}" rel="${release}"/>`).join('\n');
  const files = Array.from({ length: 4 }, (_, k) => `    <file>/usr/${k % 2 ? 'bin' : 'lib64'}/${name}-${word(k)}</file>`).join('\n');
  return `<package type="rpm">
  <name>${name}</name>
  <arch>${arch}</arch>
  <version epoch="${epoch}" ver="${version}" rel="${release}"/>
  <checksum type="sha256" pkgid="YES">${pkgid}</checksum>
  <summary>${word(i)} ${word(i + 1)} for ${word(i + 2)} applications</summary>
  <description>${description}</description>
  <packager>Fedora Project</packager>
  <url>https://${word(i)}.example.org/${name}</url>
  <time file="${1700000000 + i}" build="${1699990000 + i}"/>
  <size package="${100000 + (i % 900000)}" installed="${300000 + (i % 3000000)}" archive="${310000 + (i % 3000000)}"/>
  <location href="Packages/${name[0]}/${name}-${version}-${release}.${arch}.rpm"/>
  <format>
    <rpm:license>MIT AND (GPL-2.0-or-later OR Apache-2.0)</rpm:license>
    <rpm:vendor>Fedora Project</rpm:vendor>
    <rpm:group>Unspecified</rpm:group>
    <rpm:buildhost>buildvm-x86-${i % 40}.iad2.fedoraproject.org</rpm:buildhost>
    <rpm:sourcerpm>${name}-${version}-${release}.src.rpm</rpm:sourcerpm>
    <rpm:header-range start="4504" end="${20000 + (i % 9000)}"/>
    <rpm:provides>
${provides}
    </rpm:provides>
    <rpm:requires>
${requires}
    </rpm:requires>
${files}
  </format>
</package>
`;
}

function versionXml(i: number): string {
  const { epoch, version, release } = nevraOf(i);
  return `<version epoch="${epoch}" ver="${version}" rel="${release}"/>`;
}

function pkgIdOf(i: number): string {
  return createHash('sha256').update(`pkg-${i}`).digest('hex');
}

/** One `<package>` of filelists.xml: the files of primary's and twenty more, directories among them. */
export function filelistsPackageXml(i: number): string {
  const { name, arch } = nevraOf(i);
  const files: string[] = [];
  for (let k = 0; k < 4; k++) files.push(`  <file>/usr/${k % 2 ? 'bin' : 'lib64'}/${name}-${word(k)}</file>`);
  files.push(`  <file type="dir">/usr/share/${name}</file>`, `  <file type="dir">/usr/share/doc/${name}</file>`);
  for (let k = 0; k < 14; k++) files.push(`  <file>/usr/share/${name}/${word(i + k)}/${word(k)}-${k}.${k % 3 ? 'dat' : 'conf'}</file>`);
  for (let k = 0; k < 3; k++) files.push(`  <file>/usr/share/doc/${name}/${['README', 'NEWS', 'COPYING'][k]}</file>`);
  if (i % 5 === 0) files.push(`  <file type="ghost">/var/log/${name}.log</file>`);
  return `<package pkgid="${pkgIdOf(i)}" name="${name}" arch="${arch}">
  ${versionXml(i)}
${files.join('\n')}
</package>
`;
}

/** One `<package>` of other.xml: four changelog entries, oldest first. */
export function otherPackageXml(i: number): string {
  const { name, arch, version, release } = nevraOf(i);
  const entries = Array.from({ length: 4 }, (_, k) =>
    `  <changelog author="${word(i + k)} Maintainer &lt;${word(i + k)}@example.org&gt; - ${version}-${k + 1}" date="${1600000000 + i + k * 86400}">- Update to ${version} (${word(i * 7 + k)} ${word(k)} fixes)\n- Rebuilt for ${release}</changelog>`,
  ).join('\n');
  return `<package pkgid="${pkgIdOf(i)}" name="${name}" arch="${arch}">
  ${versionXml(i)}
${entries}
</package>
`;
}

/**
 * One `<update>` element, deterministic in `a`: a security advisory listing packages spread over
 * the repository (`packages` of them in all).
 */
export function advisoryXml(a: number, packages: number): string {
  const listed = Array.from({ length: PACKAGES_PER_ADVISORY }, (_, k) => {
    const i = (a * 7919 + k * 104729) % packages;
    const { name, epoch, version, release, arch } = nevraOf(i);
    return `        <package name="${name}" version="${version}" release="${release}" epoch="${epoch}" arch="${arch}" src="${name}-${version}-${release}.src.rpm">
          <filename>${name}-${version}-${release}.${arch}.rpm</filename>
          <sum type="sha256">${createHash('sha256').update(`pkg-${i}`).digest('hex')}</sum>
        </package>`;
  }).join('\n');
  return `  <update from="updates@fedoraproject.org" status="stable" type="security" version="2.0">
    <id>FEDORA-2024-${a.toString(16).padStart(10, '0')}</id>
    <title>${word(a)} security update</title>
    <issued date="2024-01-${String(1 + (a % 28)).padStart(2, '0')} 10:00:00"/>
    <updated date="2024-02-${String(1 + (a % 28)).padStart(2, '0')} 10:00:00"/>
    <rights>Copyright (C) 2024 Red Hat, Inc. and others.</rights>
    <release>Fedora 40</release>
    <severity>Important</severity>
    <summary>${word(a)} ${word(a + 1)} security update</summary>
    <description>Fixes CVE-2024-${10000 + a} in the ${word(a)} ${word(a * 3)} &amp; hardens ${word(a + 2)}.</description>
    <references>
      <reference href="https://bugzilla.redhat.com/show_bug.cgi?id=${2000000 + a}" id="${2000000 + a}" type="bugzilla" title="CVE-2024-${10000 + a}"/>
    </references>
    <pkglist>
      <collection short="F40">
        <name>Fedora 40</name>
${listed}
      </collection>
    </pkglist>
  </update>
`;
}

interface WrittenMetadata {
  readonly href: string;
  readonly checksum: string;
  readonly openChecksum: string;
  readonly size: number;
  readonly openSize: number;
}

/** Streams `parts` (a document in pieces) gzipped to `<repodata>/<sha256>-<type>.xml.gz`. */
async function writeGzipped(repodata: string, type: string, parts: Iterable<string>): Promise<WrittenMetadata> {
  const temp = path.join(repodata, `${type}.xml.gz.tmp`);
  const out = createWriteStream(temp);
  const gzip = createGzip({ level: 6 });
  const openHash = createHash('sha256');
  const gzHash = createHash('sha256');
  let openSize = 0;
  let size = 0;
  gzip.on('data', (chunk: Buffer) => {
    gzHash.update(chunk);
    size += chunk.length;
  });
  gzip.pipe(out);
  let batch = '';
  const write = async (text: string) => {
    const bytes = Buffer.from(text);
    openHash.update(bytes);
    openSize += bytes.length;
    if (!gzip.write(bytes)) await once(gzip, 'drain');
  };
  for (const part of parts) {
    batch += part;
    if (batch.length > 1 << 20) {
      await write(batch);
      batch = '';
    }
  }
  await write(batch);
  gzip.end();
  await once(out, 'finish');
  const checksum = gzHash.digest('hex');
  const href = `repodata/${checksum}-${type}.xml.gz`;
  await rename(temp, path.join(repodata, '..', href));
  return { href, checksum, openChecksum: openHash.digest('hex'), size, openSize };
}

function* primaryParts(packages: number): Generator<string> {
  yield `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${packages}">\n`;
  for (let i = 0; i < packages; i++) yield packageXml(i);
  yield '</metadata>\n';
}

function* filelistsParts(packages: number): Generator<string> {
  yield `<?xml version="1.0" encoding="UTF-8"?>\n<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="${packages}">\n`;
  for (let i = 0; i < packages; i++) yield filelistsPackageXml(i);
  yield '</filelists>';
}

function* otherParts(packages: number): Generator<string> {
  yield `<?xml version="1.0" encoding="UTF-8"?>\n<otherdata xmlns="http://linux.duke.edu/metadata/other" packages="${packages}">\n`;
  for (let i = 0; i < packages; i++) yield otherPackageXml(i);
  yield '</otherdata>';
}

function* updateinfoParts(advisories: number, packages: number): Generator<string> {
  yield '<?xml version="1.0" encoding="UTF-8"?>\n<updates>\n';
  for (let a = 0; a < advisories; a++) yield advisoryXml(a, packages);
  yield '</updates>\n';
}

function repomdRecord(type: string, written: WrittenMetadata, now: number): string {
  return `  <data type="${type}">
    <checksum type="sha256">${written.checksum}</checksum>
    <open-checksum type="sha256">${written.openChecksum}</open-checksum>
    <location href="${written.href}"/>
    <timestamp>${now}</timestamp>
    <size>${written.size}</size>
    <open-size>${written.openSize}</open-size>
  </data>
`;
}

/**
 * Writes `<dir>/repodata/<sha256>-primary.xml.gz`, `-filelists.xml.gz` and `-other.xml.gz`, with `advisories` > 0 also
 * `<dir>/repodata/<sha256>-updateinfo.xml.gz`, and `<dir>/repodata/repomd.xml`.
 */
export async function generateRpmRepo(dir: string, packages: number, advisories = 0): Promise<GeneratedPrimary> {
  const repodata = path.join(dir, 'repodata');
  await mkdir(repodata, { recursive: true });
  const primary = await writeGzipped(repodata, 'primary', primaryParts(packages));
  const filelists = await writeGzipped(repodata, 'filelists', filelistsParts(packages));
  const other = await writeGzipped(repodata, 'other', otherParts(packages));
  const updateinfo = advisories > 0 ? await writeGzipped(repodata, 'updateinfo', updateinfoParts(advisories, packages)) : undefined;
  const now = Math.floor(Date.now() / 1000);
  await writeFile(
    path.join(repodata, 'repomd.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>${now}</revision>
${repomdRecord('primary', primary, now)}${repomdRecord('filelists', filelists, now)}${repomdRecord('other', other, now)}${updateinfo ? repomdRecord('updateinfo', updateinfo, now) : ''}</repomd>
`,
  );
  const file = (written: WrittenMetadata): GeneratedFile => ({ path: path.join(dir, written.href), openSize: written.openSize, size: written.size });
  return { packages, advisories, openSize: primary.openSize, size: primary.size, primaryPath: path.join(dir, primary.href), filelists: file(filelists), other: file(other) };
}
