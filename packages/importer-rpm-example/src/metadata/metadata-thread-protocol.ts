import type { MetadataFile } from './metadata-file.js';

/**
 * What a metadata-parsing thread reads: `primary` gives PrimaryPackages, `updateinfo` gives
 * Advisories.
 */
export type MetadataThreadKind = 'primary' | 'updateinfo';

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
}

/** An error crossing the thread boundary: TributaryErrors keep their code and details. */
export interface MetadataThreadError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly stack?: string;
}

/** Thread → reader. */
export type MetadataThreadMessage =
  | { readonly kind: 'items'; readonly items: unknown[] }
  | { readonly kind: 'end' }
  | { readonly kind: 'error'; readonly error: MetadataThreadError };

/** Reader → thread: the reader took a message; the thread may post one more. */
export interface MetadataThreadCredit {
  readonly kind: 'credit';
}
