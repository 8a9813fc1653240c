import { DeclarativeContent } from '@tributary/plugin-api';
import { RPM_PACKAGE } from '../content-types.js';
import { locationUrl, storedRelativePath } from '../metadata/location.js';
import type { PackageEntry } from '../metadata/package-entry.js';

/**
 * The unit-to-be of one primary.xml package: key NEVRA + pkgId, the usual header fields as
 * metadata (given as the JSON text the parsing thread built), and one artifact, the RPM file at
 * its location (xml:base honoured) with the size and checksum primary.xml gives, stored under the
 * safe path derived from the href.
 */
export function packageContent(p: PackageEntry, baseUrl: string, source: string): DeclarativeContent {
  const { href, xmlBase } = p.location;
  const relativePath = storedRelativePath(href);
  const { key } = p;
  const url = locationUrl(href, xmlBase, baseUrl, () => `${source}, line ${p.line} (package ${key.name})`);
  const size = p.packageSize;
  return new DeclarativeContent({
    typeId: RPM_PACKAGE,
    // the entry's own key object: it crossed from the parsing thread for this
    key,
    metadataJson: p.metadataJson,
    artifacts: [
      size !== undefined
        ? { url, relativePath, size, digests: { [key.checksumType]: key.checksum } }
        : { url, relativePath, digests: { [key.checksumType]: key.checksum } },
    ],
  });
}
