import { Readable } from 'node:stream';
import { readPrimaryXml, readXmlRecords, advisoryOf, UPDATEINFO_RECORDS, type PrimaryPackage } from '@tributary/importer-rpm-example';
import { canonicalJson } from '@tributary/plugin-api';
import { packageContent } from '../src/first-stage/package-content';
import { packageEntryOf, packageMetadata } from '../src/metadata/package-entry';
import { advisoryMetadata } from '../src/metadata/updateinfo-advisory';

/**
 * The catalog stores metadata as canonical JSON (keys sorted at every level) and copies every
 * object whose keys are out of order: building metadata in sorted order is what keeps that free.
 * These tests fail when a field is added out of order.
 */
function unsortedPaths(value: unknown, at = '$'): string[] {
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap((item, i) => unsortedPaths(item, `${at}[${i}]`));
  const keys = Object.keys(value);
  const own = keys.some((key, i) => i > 0 && keys[i - 1]! >= key) ? [`${at}: ${keys.join(', ')}`] : [];
  return [...own, ...keys.flatMap((key) => unsortedPaths((value as Record<string, unknown>)[key], `${at}.${key}`))];
}

const PRIMARY = `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="1">
<package type="rpm">
  <name>tb-tools</name><arch>noarch</arch><version epoch="2" ver="2.0" rel="3"/>
  <checksum type="sha256" pkgid="YES">${'ab'.repeat(32)}</checksum>
  <summary>s</summary><description>d</description><packager>p</packager><url>https://tributary.invalid/</url>
  <time file="1700000100" build="1700000000"/><size package="6120" installed="10" archive="412"/>
  <location xml:base="http://mirror.invalid/el9/" href="Packages/t/tb-tools-2.0-3.noarch.rpm"/>
  <format><rpm:license>MIT</rpm:license><rpm:vendor>v</rpm:vendor><rpm:group>g</rpm:group><rpm:buildhost>b</rpm:buildhost>
    <rpm:sourcerpm>tb-tools-2.0-3.src.rpm</rpm:sourcerpm>
    <rpm:provides><rpm:entry name="tb-tools"/></rpm:provides><rpm:requires><rpm:entry name="/bin/sh"/></rpm:requires></format>
</package>
</metadata>
`;

const UPDATEINFO = `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="security@tributary.invalid" status="final" type="security" version="2">
    <id>TBSA-2026:0001</id><title>Important: tb-tools</title><severity>Important</severity>
    <release>Tributary 1</release><rights>CC0</rights><summary>sum</summary><description>desc</description><solution>update</solution>
    <issued date="2026-01-01 00:00:00"/><updated date="2026-01-02 00:00:00"/>
    <references><reference href="https://tributary.invalid/1" id="CVE-2026-0001" type="cve" title="CVE-2026-0001"/></references>
    <pkglist><collection short="tb-1"><name>Tributary 1</name>
      <package name="tb-tools" version="2.0" release="3" epoch="2" arch="noarch" src="tb-tools-2.0-3.src.rpm">
        <filename>tb-tools-2.0-3.noarch.rpm</filename><sum type="sha256">${'cd'.repeat(32)}</sum><reboot_suggested>1</reboot_suggested>
      </package>
    </collection></pkglist>
  </update>
</updates>
`;

test('an rpm package unit is built with its keys in sorted order at every level', async () => {
  const packages: PrimaryPackage[] = [];
  for await (const batch of readPrimaryXml(Readable.from([Buffer.from(PRIMARY)]), 'primary test')) packages.push(...batch);
  const content = packageContent(packageEntryOf(packages[0]!), 'http://upstream.invalid/el9/', 'primary test');
  // the text the catalog stores as it is must be exactly the canonical JSON of the metadata
  const text = content.metadataJson!;
  expect(text).toBe(canonicalJson(JSON.parse(text)));
  expect(Object.keys(content.metadata)).toEqual(expect.arrayContaining(['buildhost', 'location', 'provides', 'requires', 'size', 'time', 'vendor']));
  expect(unsortedPaths(content.metadata)).toEqual([]);
  expect(content.metadata).toEqual(packageMetadata(packages[0]!));
});

test('an advisory unit is built with its keys in sorted order at every level, every optional field present', async () => {
  let metadata: Record<string, unknown> | undefined;
  for await (const element of readXmlRecords(Readable.from([Buffer.from(UPDATEINFO)]), { ...UPDATEINFO_RECORDS, source: 'updateinfo test' })) {
    metadata = advisoryMetadata(advisoryOf(element, 'updateinfo test'), ['unit-1', 'unit-2']);
  }
  expect(Object.keys(metadata!).sort()).toEqual(
    ['collections', 'description', 'from', 'issued', 'packageUnitIds', 'packages', 'references', 'release', 'rights', 'severity', 'solution', 'status', 'summary', 'title', 'type', 'updated', 'version'],
  );
  expect(metadata!['packages']).toEqual([
    expect.objectContaining({ collection: 'tb-1', filename: 'tb-tools-2.0-3.noarch.rpm', rebootSuggested: true, src: 'tb-tools-2.0-3.src.rpm', sum: { type: 'sha256', value: 'cd'.repeat(32) } }),
  ]);
  expect(unsortedPaths(metadata)).toEqual([]);
});
