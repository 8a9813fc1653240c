import fs from 'node:fs';

/**
 * The most one write(2) call of the storage's writer thread hands the kernel. Linux 6.x sizes
 * ext4's page-cache folios by the write, and on a VM that hands free memory back to its hypervisor
 * the large ones come back cold, at several times the cost per byte. On the thread a smaller write
 * costs a syscall more; writes made with callbacks on the calling thread keep their size, as each
 * call there is a round trip to the thread pool (docs/performance.md).
 */
export const WRITE_BYTES = 128 * 1024;

/** Writes all of `bytes` to `fd` at its position, {@link WRITE_BYTES} at most per call. */
export function writeAllSync(fd: number, bytes: Uint8Array): void {
  for (let offset = 0; offset < bytes.length; ) {
    offset += fs.writeSync(fd, bytes, offset, Math.min(WRITE_BYTES, bytes.length - offset));
  }
}
