import { readMetadataRecords, type MetadataFile, type ReadMetadataOptions } from './metadata-file.js';
import type { MetadataThreadKind } from './metadata-thread-protocol.js';
import { packageEntryOf, type PackageEntry } from './package-entry.js';
import { readPrimaryPackages } from './primary-package-reader.js';
import { advisoryOf, UPDATEINFO_RECORDS, type Advisory } from './updateinfo-advisory.js';

/**
 * What a metadata file of `kind` holds, in batches, read on the calling thread: primary's packages
 * (see {@link readPrimaryPackages}, or as {@link PackageEntry}s) or updateinfo's advisories (see `advisoryOf`). The parsing
 * thread runs this; so does the reader when there is no thread to run it on.
 */
export function readMetadataItems(kind: MetadataThreadKind, file: MetadataFile, options: ReadMetadataOptions): AsyncGenerator<unknown[]> {
  if (kind === 'primary') return readPrimaryPackages(file, options);
  if (kind === 'primary-entries') return readPackageEntries(file, options);
  return readAdvisories(file, options);
}

/** primary's packages as the first stage takes them ({@link PackageEntry}), read on the calling thread. */
export async function* readPackageEntries(file: MetadataFile, options: ReadMetadataOptions): AsyncGenerator<PackageEntry[]> {
  for await (const packages of readPrimaryPackages(file, options)) yield packages.map(packageEntryOf);
}

/** The advisories of an updateinfo file (see `advisoryOf`), one batch per `<update>`, read on the calling thread. */
export async function* readAdvisories(file: MetadataFile, options: ReadMetadataOptions): AsyncGenerator<Advisory[]> {
  const source = `updateinfo metadata ${file.href}`;
  for await (const element of readMetadataRecords(file, UPDATEINFO_RECORDS, options)) yield [advisoryOf(element, source)];
}
