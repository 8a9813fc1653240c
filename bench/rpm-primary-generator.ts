/**
 * Generates a realistic yum repository's metadata for the rpm-sync benchmark: primary.xml.gz with
 * N packages (about 2.5 KB of XML each, as Fedora's are: summary, description, a dozen requires,
 * a few provides and files) and a repomd.xml listing it with checksums and sizes. Streams to disk:
 * memory stays flat whatever N is. No RPM files exist; an on_demand sync never fetches them.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';

export interface GeneratedPrimary {
  readonly packages: number;
  readonly openSize: number;
  readonly size: number;
  /** Path of primary.xml.gz on disk. */
  readonly primaryPath: string;
}

const WORDS = 'library runtime daemon client server utility toolkit binding module plugin parser compiler network graphics audio video kernel driver firmware shell editor document archive python perl ruby golang rust java'.split(' ');

function word(n: number): string {
  return WORDS[n % WORDS.length]!;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One `<package>` element, deterministic in `i`. */
export function packageXml(i: number): string {
  const name = `${word(i)}-${word(i >> 3)}-${i.toString(36)}`;
  const version = `${1 + (i % 7)}.${i % 13}.${i % 5}`;
  const release = `${1 + (i % 3)}.fc40`;
  const arch = i % 11 === 0 ? 'noarch' : 'x86_64';
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
  <version epoch="${i % 17 === 0 ? 1 : 0}" ver="${version}" rel="${release}"/>
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

/** Writes `<dir>/repodata/<sha256>-primary.xml.gz` and `<dir>/repodata/repomd.xml`. */
export async function generateRpmRepo(dir: string, packages: number): Promise<GeneratedPrimary> {
  const repodata = path.join(dir, 'repodata');
  await mkdir(repodata, { recursive: true });
  const temp = path.join(repodata, 'primary.xml.gz.tmp');
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
  const write = async (text: string) => {
    const bytes = Buffer.from(text);
    openHash.update(bytes);
    openSize += bytes.length;
    if (!gzip.write(bytes)) await once(gzip, 'drain');
  };
  await write(`<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${packages}">\n`);
  let batch = '';
  for (let i = 0; i < packages; i++) {
    batch += packageXml(i);
    if (batch.length > 1 << 20) {
      await write(batch);
      batch = '';
    }
  }
  await write(`${batch}</metadata>\n`);
  gzip.end();
  await once(out, 'finish');
  const checksum = gzHash.digest('hex');
  const href = `repodata/${checksum}-primary.xml.gz`;
  const primaryPath = path.join(dir, href);
  await rename(temp, primaryPath);
  const now = Math.floor(Date.now() / 1000);
  await writeFile(
    path.join(repodata, 'repomd.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>${now}</revision>
  <data type="primary">
    <checksum type="sha256">${checksum}</checksum>
    <open-checksum type="sha256">${openHash.digest('hex')}</open-checksum>
    <location href="${href}"/>
    <timestamp>${now}</timestamp>
    <size>${size}</size>
    <open-size>${openSize}</open-size>
  </data>
</repomd>
`,
  );
  return { packages, openSize, size, primaryPath };
}
