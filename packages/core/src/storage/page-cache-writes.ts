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
 * What `fs.createWriteStream` is given as its `fs` so that each write(2) takes {@link WRITE_BYTES}
 * at most. `write` writes part of a larger chunk (the stream writes the rest in further calls);
 * `writev`, which the stream uses for all it has queued, writes it in runs of at most that many
 * bytes one after the other and answers once all are written, so the stream still drains its queue
 * in one step.
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
  writev(
    fd: number,
    buffers: readonly NodeJS.ArrayBufferView[],
    position: number | null,
    callback: (error: NodeJS.ErrnoException | null, written: number, buffers: readonly NodeJS.ArrayBufferView[]) => void,
  ): void {
    const runs = boundedRuns(buffers);
    let written = 0;
    let at = position;
    const next = (index: number): void => {
      const run = runs[index]!;
      fs.writev(fd, run.views, at, (error, count) => {
        if (error) return callback(error, written, buffers);
        written += count;
        if (at !== null) at += count;
        // a short write ends the call: the stream writes what is left
        if (count < run.bytes || index + 1 === runs.length) return callback(null, written, buffers);
        next(index + 1);
      });
    };
    if (runs.length === 0) callback(null, 0, buffers);
    else next(0);
  },
};

/** `buffers` cut into consecutive runs of at most {@link WRITE_BYTES} bytes. */
function boundedRuns(buffers: readonly NodeJS.ArrayBufferView[]): { views: Uint8Array[]; bytes: number }[] {
  const runs: { views: Uint8Array[]; bytes: number }[] = [];
  let run: { views: Uint8Array[]; bytes: number } = { views: [], bytes: 0 };
  for (const buffer of buffers) {
    const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    for (let offset = 0; offset < bytes.length; ) {
      const length = Math.min(bytes.length - offset, WRITE_BYTES - run.bytes);
      run.views.push(bytes.subarray(offset, offset + length));
      run.bytes += length;
      offset += length;
      if (run.bytes === WRITE_BYTES) {
        runs.push(run);
        run = { views: [], bytes: 0 };
      }
    }
  }
  if (run.bytes > 0) runs.push(run);
  return runs;
}
