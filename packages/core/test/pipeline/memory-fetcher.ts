import { createHash } from 'node:crypto';
import {
  ErrorCodes,
  TributaryError,
  type DownloadExpectation,
  type DownloadedFile,
  type RemoteFetcher,
} from '@tributary/plugin-api';

export const sha256Of = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Where a fetcher puts a body it downloaded, hashed and verified: a file in the sync's storage
 * scope, as the host's Downloader stages one (ArtifactStorage.stageVerifiedBody); returns its path.
 */
export interface BodyStaging {
  stage(sha256: string, body: Uint8Array): Promise<string>;
}

/**
 * TEST DOUBLE of the RemoteFetcher: serves bodies from a map of url → text, checks the expected
 * size and sha256, stages each body it serves (a real file the conduit can adopt), and reports how
 * many downloads ran at once. `hold()` makes every download wait until released (or aborted).
 * The real undici Downloader is exercised in pipeline-over-sqlite.test.ts.
 */
export class MemoryFetcher implements RemoteFetcher {
  readonly requested: string[] = [];
  /** Downloads that saw their signal abort. */
  aborted = 0;
  running = 0;
  maxRunning = 0;
  private readonly gate = new Gate();
  private readonly startedCount = new Threshold();

  constructor(
    private readonly bodies: ReadonlyMap<string, string>,
    private readonly staging: BodyStaging,
  ) {}

  /** Makes downloads wait until `release()` (or their abort). */
  hold(): void {
    this.gate.close();
  }

  release(): void {
    this.gate.open();
  }

  /** Settles once `n` downloads have started. */
  started(n: number): Promise<void> {
    return this.startedCount.reached(n);
  }

  async download(url: string | readonly string[], expected: DownloadExpectation = {}, signal?: AbortSignal): Promise<DownloadedFile> {
    const urls = typeof url === 'string' ? [url] : [...url];
    this.requested.push(urls[0]!);
    this.startedCount.set(this.requested.length);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      const gate = this.gate.closed;
      if (gate) await abortable(gate, signal, () => this.aborted++);
      else await abortable(new Promise((resolve) => setImmediate(resolve)), signal, () => this.aborted++);
      const found = urls.find((u) => this.bodies.has(u));
      if (found === undefined) throw new TributaryError(ErrorCodes.HTTP_STATUS, `404 for ${urls[0]}`, { details: { status: 404 } });
      const body = this.bodies.get(found)!;
      const sha256 = sha256Of(body);
      const size = Buffer.byteLength(body);
      if (expected.size !== undefined && expected.size !== size) {
        throw new TributaryError(ErrorCodes.SIZE_MISMATCH, `${found}: expected ${expected.size} bytes, got ${size}`);
      }
      if (expected.digests?.sha256 && expected.digests.sha256 !== sha256) {
        throw new TributaryError(ErrorCodes.DIGEST_MISMATCH, `${found}: sha256 mismatch`);
      }
      return { path: await this.staging.stage(sha256, Buffer.from(body)), size, digests: { sha256 } };
    } finally {
      this.running--;
    }
  }
}

/**
 * TEST DOUBLE of a fetcher that limits its own transfers, as the host's Downloader does: at most
 * `transferLimit` transfers at once (the rest queue inside the fetcher), then each body "writes
 * to disk", which `holdDisk()` makes wait until `releaseDisk()`.
 */
export class TransferLimitedFetcher implements RemoteFetcher {
  outstanding = 0;
  maxOutstanding = 0;
  transfers = 0;
  maxTransfers = 0;
  private diskWaiting = 0;
  private readonly transferQueue: Array<() => void> = [];
  private readonly disk = new Gate();
  private readonly diskWaitingCount = new Threshold();
  private readonly inner: MemoryFetcher;

  constructor(bodies: ReadonlyMap<string, string>, readonly transferLimit: number, staging: BodyStaging) {
    this.inner = new MemoryFetcher(bodies, staging);
  }

  holdDisk(): void {
    this.disk.close();
  }

  releaseDisk(): void {
    this.disk.open();
  }

  /** Settles once `n` downloads have finished their transfer and wait for the disk. */
  waitingForDisk(n: number): Promise<void> {
    return this.diskWaitingCount.reached(n);
  }

  async download(url: string | readonly string[], expected?: DownloadExpectation, signal?: AbortSignal): Promise<DownloadedFile> {
    this.maxOutstanding = Math.max(this.maxOutstanding, ++this.outstanding);
    try {
      // a freed slot passes straight to the next in line
      if (this.transfers < this.transferLimit) this.transfers++;
      else await new Promise<void>((resolve) => this.transferQueue.push(resolve));
      this.maxTransfers = Math.max(this.maxTransfers, this.transfers);
      let file: DownloadedFile;
      try {
        file = await this.inner.download(url, expected, signal);
      } finally {
        const next = this.transferQueue.shift();
        if (next) next();
        else this.transfers--;
      }
      const disk = this.disk.closed;
      if (disk) {
        this.diskWaitingCount.set(++this.diskWaiting);
        await abortable(disk, signal, () => undefined);
        this.diskWaiting--;
      }
      return file;
    } finally {
      this.outstanding--;
    }
  }
}

/** Closed, it holds whoever awaits `closed` until opened. */
class Gate {
  private waiting: Promise<void> | undefined;
  private release: (() => void) | undefined;

  get closed(): Promise<void> | undefined {
    return this.waiting;
  }

  close(): void {
    this.waiting = new Promise<void>((resolve) => (this.release = resolve));
  }

  open(): void {
    this.release?.();
    this.waiting = undefined;
  }
}

/** A count, and promises that settle once it reaches a number. */
class Threshold {
  private value = 0;
  private readonly waiters: Array<{ n: number; resolve: () => void }> = [];

  set(value: number): void {
    this.value = value;
    for (const w of this.waiters.filter((w) => value >= w.n)) w.resolve();
  }

  reached(n: number): Promise<void> {
    if (this.value >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

function abortable(promise: Promise<unknown>, signal: AbortSignal | undefined, onAbort: () => void): Promise<unknown> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const abort = (): void => {
      onAbort();
      reject(new TributaryError(ErrorCodes.SYNC_CANCELLED, 'download aborted', { cause: signal.reason }));
    };
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', abort);
        reject(e);
      },
    );
  });
}
