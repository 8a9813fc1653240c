/** Injection tokens for host services that are interfaces rather than classes. */
export const CONTENT_STORE = Symbol.for('tributary.ContentStore');
export const HOST_OPTIONS = Symbol.for('tributary.HostOptions');

export interface HostOptionsToken {
  readonly batchSize: number;
  readonly leaseTtlMs: number;
  /** Identifies this host process in leases (hostname:pid:random). */
  readonly hostId: string;
}
