import type { MetadataFile, ReadMetadataOptions } from './metadata-file.js';
import { packageEntryOf, type PackageEntry } from './package-entry.js';
import { PackageDetailsJoin, readPackageDetails, type PackageDetailsFiles } from './package-details-reader.js';
import { readPrimaryPackages } from './primary-package-reader.js';

/**
 * primary's packages as the first stage takes them ({@link PackageEntry}), read on the calling
 * thread, with their files from filelists and their changelogs from other when `details` names
 * those files. All three stream together, matched by pkgId (see {@link PackageDetailsJoin}), so
 * memory holds one chunk of each and what waits to be matched, never a whole file. What did not
 * match goes to `onWarning`.
 */
export async function* readPackageEntries(file: MetadataFile, options: ReadMetadataOptions & { readonly details?: PackageDetailsFiles }): AsyncGenerator<PackageEntry[]> {
  const { details } = options;
  const limit = details?.changelogLimit ?? 0;
  const filelists = details?.filelists ? new PackageDetailsJoin('filelists', details.filelists.href, readPackageDetails(details.filelists, 'filelists', options, limit)) : undefined;
  const other = details?.other ? new PackageDetailsJoin('other', details.other.href, readPackageDetails(details.other, 'other', options, limit)) : undefined;
  let complete = false;
  try {
    for await (const packages of readPrimaryPackages(file, options)) {
      const entries = new Array<PackageEntry>(packages.length);
      for (let i = 0; i < packages.length; i++) {
        const p = packages[i]!;
        const files = filelists ? (filelists.ready(p.checksum) ?? (await filelists.take(p.checksum))) : undefined;
        const changelogs = other ? (other.ready(p.checksum) ?? (await other.take(p.checksum))) : undefined;
        entries[i] = packageEntryOf(p, files?.files, changelogs?.changelogs);
      }
      yield entries;
    }
    for (const join of [filelists, other]) {
      const problem = await join?.finish();
      if (problem) options.onWarning?.(problem);
    }
    complete = true;
  } finally {
    if (!complete) await Promise.all([filelists?.close(), other?.close()]);
  }
}
