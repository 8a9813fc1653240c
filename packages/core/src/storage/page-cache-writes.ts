import fs from 'node:fs';

/**
 * The most one write(2) call of the storage hands the kernel. Since Linux 6.x gives ext4 (and
 * xfs) large page-cache folios, a write's length picks the folio size; writes above 128 KiB took
 * 4–5× the system time per byte of 128 KiB ones on the VMs measured (high-order pages come cold
 * from the hypervisor), and smaller writes cost nothing measurable elsewhere. Figures in
 * docs/performance.md.
 */
export const WRITE_BYTES = 128 * 1024;

/** Writes all of `bytes` to `fd` at its position, {@link WRITE_BYTES} at most per call. */
export function writeAllSync(fd: number, bytes: Uint8Array): void {
  for (let offset = 0; offset < bytes.length; ) {
    offset += fs.writeSync(fd, bytes, offset, Math.min(WRITE_BYTES, bytes.length - offset));
  }
}

/** {@link writeAllSync} with callback fs. */
export function writeAll(fd: number, bytes: Uint8Array, callback: (error: NodeJS.ErrnoException | null) => void): void {
  const from = (offset: number): void => {
    if (offset >= bytes.length) return callback(null);
    fs.write(fd, bytes, offset, Math.min(WRITE_BYTES, bytes.length - offset), null, (error, written) => {
      if (error) return callback(error);
      from(offset + written);
    });
  };
  from(0);
}

/**
 * What `fs.createWriteStream` is given as its `fs` so that each of its write(2) calls takes
 * {@link WRITE_BYTES} at most: no `writev` (which would write all that is queued at once), and a
 * `write` that writes part of a larger chunk (the stream writes the rest in further calls).
 */
export const BOUNDED_WRITES_FS = {
  open: fs.open,
  close: fs.close,
  write(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number | null,
    callback: (error: NodeJS.ErrnoException | null, written: number, buffer: Uint8Array) => void,
  ): void {
    fs.write(fd, buffer, offset, Math.min(length, WRITE_BYTES), position, callback);
  },
};
