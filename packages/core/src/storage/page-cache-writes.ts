import fs from 'node:fs';

/**
 * The most one write(2) call of the storage's writer thread hands the kernel. Since Linux 6.x
 * gives ext4 (and xfs) large page-cache folios, a write's length picks the folio size; writes above
 * 128 KiB took 4–5× the system time per byte of 128 KiB ones on the VM measured (high-order pages
 * come cold from its hypervisor). On the thread a smaller write costs one more syscall and nothing
 * else; writes made with callbacks on the calling thread keep their size, as each call there is a
 * round trip to the thread pool (figures in docs/performance.md).
 */
export const WRITE_BYTES = 128 * 1024;

/** Writes all of `bytes` to `fd` at its position, {@link WRITE_BYTES} at most per call. */
export function writeAllSync(fd: number, bytes: Uint8Array): void {
  for (let offset = 0; offset < bytes.length; ) {
    offset += fs.writeSync(fd, bytes, offset, Math.min(WRITE_BYTES, bytes.length - offset));
  }
}
