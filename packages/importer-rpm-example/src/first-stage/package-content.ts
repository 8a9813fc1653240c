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
    metadata: {
      summary: p.summary,
      description: p.description,
      url: p.url,
      packager: p.packager,
      license: p.license,
      vendor: p.vendor,
      group: p.group,
      buildhost: p.buildhost,
      sourcerpm: p.sourcerpm,
      size: p.size,
      time: p.time,
      location: xmlBase ? { href, xmlBase, relativePath } : { href, relativePath },
      provides: p.provides,
      requires: p.requires,
    },
    artifacts: [
      size !== undefined
        ? { url, relativePath, size, digests: { [p.checksumType]: p.checksum } }
        : { url, relativePath, digests: { [p.checksumType]: p.checksum } },
    ],
  });
}
