import type { MetadataFile } from './metadata-file.js';
import type { PrimaryPackage } from './primary-package.js';

/** What the primary-parsing thread is started with. */
export interface PrimaryThreadTask {
  readonly file: MetadataFile;
  /** Hard cap on decompressed bytes. */
  readonly maxBytes: number;
  /** Packages per message, at least (the last message may hold fewer). */
  readonly batchSize: number;
  /** Messages the thread may post before the reader asks for more. */
  readonly window: number;
}

/** An error crossing the thread boundary: TributaryErrors keep their code and details. */
export interface PrimaryThreadError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly stack?: string;
}

/** Thread → reader. */
export type PrimaryThreadMessage =
  | { readonly kind: 'packages'; readonly packages: PrimaryPackage[] }
  | { readonly kind: 'end' }
  | { readonly kind: 'error'; readonly error: PrimaryThreadError };

/** Reader → thread: the reader took a message; the thread may post one more. */
export interface PrimaryThreadCredit {
  readonly kind: 'credit';
}
