import type { ErrorData } from '@tributary/plugin-api';
import type { MetadataFile } from './metadata-file.js';
import type { PackageDetailsFiles } from './package-details-reader.js';

/**
 * What a metadata-parsing thread reads: `primary` gives PrimaryPackages, `primary-entries` the
 * same packages as PackageEntries (what the first stage needs, metadata as text),
 * `primary-nevras` only their NEVRAs (the first pass of retainPackageVersions), `updateinfo`
 * gives Advisories.
 */
export type MetadataThreadKind = 'primary' | 'primary-entries' | 'primary-nevras' | 'updateinfo';

/** What a metadata-parsing thread is started with. */
export interface MetadataThreadTask {
  readonly kind: MetadataThreadKind;
  readonly file: MetadataFile;
  /** Hard cap on decompressed bytes. */
  readonly maxBytes: number;
  /** Items per message, at least (the last message may hold fewer). */
  readonly batchSize: number;
  /** Messages the thread may post before the reader asks for more. */
  readonly window: number;
  /** `primary-entries`: filelists and other, read along with primary (see readPackageEntries). */
  readonly details?: PackageDetailsFiles;
}

/** Thread → reader. */
export type MetadataThreadMessage =
  | { readonly kind: 'items'; readonly items: unknown[] }
  | {
      readonly kind: 'end';
      /** What the file had wrong that did not stop it being read (see ReadMetadataOptions.onWarning). */
      readonly warnings: readonly string[];
    }
  | { readonly kind: 'error'; readonly error: ErrorData };

/** Reader → thread: the reader took a message; the thread may post one more. */
export interface MetadataThreadCredit {
  readonly kind: 'credit';
}

/** Reader → thread started without a task (startMetadataThread): what to read. */
export interface MetadataThreadStart {
  readonly kind: 'task';
  readonly task: MetadataThreadTask;
}

/**
 * Reader → thread: stop reading and end. The thread ends by letting its event loop drain, after
 * any native work in flight (see metadata-parse-thread.ts).
 */
export interface MetadataThreadStop {
  readonly kind: 'stop';
}
