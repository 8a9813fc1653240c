import { DeclarativeContent } from '@tributary/plugin-api';
import { RPM_PACKAGE } from '../content-types.js';
import { locationUrl, storedRelativePath } from '../metadata/location.js';
import type { PrimaryPackage } from '../metadata/primary-package.js';

/**
 * The unit-to-be of one primary.xml package: key NEVRA + pkgId, the usual header fields as
 * metadata, and one artifact, the RPM file at its location (xml:base honoured) with the size and
 * checksum primary.xml gives, stored under the safe path derived from the href.
 */
export function packageContent(p: PrimaryPackage, baseUrl: string, source: string): DeclarativeContent {
  const { href, xmlBase } = p.location;
  const relativePath = storedRelativePath(href);
  const url = locationUrl(href, xmlBase, baseUrl, () => `${source}, line ${p.line} (package ${p.name})`);
  const size = p.size.package;
  return new DeclarativeContent({
    typeId: RPM_PACKAGE,
    key: {
      name: p.name,
      epoch: p.epoch,
      version: p.version,
      release: p.release,
      arch: p.arch,
      checksumType: p.checksumType,
      checksum: p.checksum,
    },
    // keys in sorted order (sizes and times too): the catalog stores metadata as canonical JSON
    // and only has to copy objects whose keys are out of order
    metadata: {
      buildhost: p.buildhost,
      description: p.description,
      group: p.group,
      license: p.license,
      location: xmlBase ? { href, relativePath, xmlBase } : { href, relativePath },
      packager: p.packager,
      provides: p.provides,
      requires: p.requires,
      size: p.size,
      sourcerpm: p.sourcerpm,
      summary: p.summary,
      time: p.time,
      url: p.url,
      vendor: p.vendor,
    },
    artifacts: [
      size !== undefined
        ? { url, relativePath, size, digests: { [p.checksumType]: p.checksum } }
        : { url, relativePath, digests: { [p.checksumType]: p.checksum } },
    ],
  });
}
