/** Sizes memory is allocated in: bodies of slightly different sizes reuse each other's. */
const GRAIN = 16 * 1024;
/** Bodies larger than this are not gathered whole (see VerifyingFileWriter) and not recycled. */
export const MAX_RECYCLED_BODY = 1024 * 1024;
/** What the pool keeps at most: enough for the bodies of every download a sync holds at once. */
const MAX_KEPT = 48;
const MAX_KEPT_BYTES = 16 * 1024 * 1024;

/**
 * Memory for whole bodies on their way to the storage's writer thread, recycled: a body is
 * gathered here, moved to the thread with its job, and the thread sends the memory back with its
 * answer. New memory for every body (what `Buffer.concat` gives) is the costliest part of copying
 * it: each page is faulted in and zeroed, and V8 counts it all towards its next collection.
 */
export class BodyMemory {
  private readonly kept: ArrayBuffer[] = [];
  private keptBytes = 0;
  /** The memory this pool lent out, which alone may come back to it. */
  private readonly lent = new WeakSet<ArrayBuffer>();

  /**
   * `size` bytes at the start of memory of the pool's (its contents undefined): kept memory that
   * fits (at most twice the size), else new. Larger than {@link MAX_RECYCLED_BODY}: memory of its own.
   */
  take(size: number): Uint8Array<ArrayBuffer> {
    if (size > MAX_RECYCLED_BODY) return new Uint8Array(size);
    let best = -1;
    for (let i = 0; i < this.kept.length; i++) {
      const length = this.kept[i]!.byteLength;
      if (length >= size && length <= 2 * size + GRAIN && (best < 0 || length < this.kept[best]!.byteLength)) best = i;
    }
    let memory: ArrayBuffer;
    if (best >= 0) {
      memory = this.kept[best]!;
      this.kept[best] = this.kept[this.kept.length - 1]!;
      this.kept.pop();
      this.keptBytes -= memory.byteLength;
    } else {
      memory = new ArrayBuffer(Math.max(GRAIN, Math.ceil(size / GRAIN) * GRAIN));
      this.lent.add(memory);
    }
    return new Uint8Array(memory, 0, size);
  }

  /** True when `memory` came from {@link take}: it may be moved to the thread and come back. */
  owns(memory: ArrayBufferLike): memory is ArrayBuffer {
    return memory instanceof ArrayBuffer && this.lent.has(memory);
  }

  /** Takes back memory the thread returned or a write here is done with; kept if there is room. */
  give(memory: ArrayBuffer): void {
    if (this.kept.length >= MAX_KEPT || this.keptBytes + memory.byteLength > MAX_KEPT_BYTES) return;
    // memory moved to the thread and back is a new object: lent again under its new identity
    this.lent.add(memory);
    this.kept.push(memory);
    this.keptBytes += memory.byteLength;
  }
}
