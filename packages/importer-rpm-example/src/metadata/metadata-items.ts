import { readMetadataRecords, type MetadataFile, type ReadMetadataOptions } from './metadata-file.js';
import type { MetadataThreadKind } from './metadata-thread-protocol.js';
import { readPackageEntries } from './package-entries-reading.js';
import type { PackageDetailsFiles } from './package-details-reader.js';
import type { Nevra } from './primary-package.js';
import { readPrimaryPackages } from './primary-package-reader.js';
import { advisoryOf, UPDATEINFO_RECORDS, type Advisory } from './updateinfo-advisory.js';

/**
 * What a metadata file of `kind` holds, in batches, read on the calling thread: primary's packages
 * (see {@link readPrimaryPackages}, or as PackageEntries with filelists' and other's details, or their NEVRAs) or updateinfo's advisories (see `advisoryOf`). The parsing
 * thread runs this; so does the reader when there is no thread to run it on.
 */
export function readMetadataItems(kind: MetadataThreadKind, file: MetadataFile, options: ReadMetadataOptions & { readonly details?: PackageDetailsFiles }): AsyncGenerator<unknown[]> {
  if (kind === 'primary') return readPrimaryPackages(file, options);
  if (kind === 'primary-entries') return readPackageEntries(file, options);
  if (kind === 'primary-nevras') return readPackageNevras(file, options);
  return readAdvisories(file, options);
}

/** primary's packages reduced to their NEVRAs, read on the calling thread. */
export async function* readPackageNevras(file: MetadataFile, options: ReadMetadataOptions): AsyncGenerator<Nevra[]> {
  for await (const packages of readPrimaryPackages(file, options)) {
    yield packages.map(({ name, epoch, version, release, arch }) => ({ name, epoch, version, release, arch }));
  }
}

export { readPackageEntries };

/** The advisories of an updateinfo file (see `advisoryOf`), one batch per `<update>`, read on the calling thread. */
export async function* readAdvisories(file: MetadataFile, options: ReadMetadataOptions): AsyncGenerator<Advisory[]> {
  const source = `updateinfo metadata ${file.href}`;
  for await (const element of readMetadataRecords(file, UPDATEINFO_RECORDS, options)) yield [advisoryOf(element, source)];
}
