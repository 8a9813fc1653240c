import { randomUUID } from 'node:crypto';
import { DIGEST_ALGORITHMS, ErrorCodes, TributaryError, type ArtifactRecord, type DigestAlgorithm } from '@tributary/plugin-api';
import { Downloader, type RemoteOptions } from '../download/index.js';
import type { ArtifactStorage } from '../storage/artifact-storage.js';
import type { ContentStore, PublicationEntry } from '../store/content-store.js';

/** Strongest first: the digest an entry is looked up by in storage. */
const LOOKUP_ORDER: readonly DigestAlgorithm[] = ['sha256', 'sha512', 'sha384', 'sha224', 'sha1', 'md5'];
/** Recent body bytes a shared download keeps in memory for the readers following it. */
const RECENT_BYTES = 8 * 1024 * 1024;
/** Entries whose stored bytes an OnDemandArtifacts remembers. */
const LOCATED_CACHE = 100_000;

/**
 * One download of a missing artifact, shared by everyone who asks for it while it runs. Readers
 * follow the file as it lands (`bytesOnDisk`, `path`) and learn the end through `done`: the stored
 * artifact once size and digests are verified, or the typed error that discarded it.
 */
export class SharedFetch {
  /** Bytes of the body in the temporary file so far (0 while a body small enough for memory is received). */
  bytesOnDisk = 0;
  /** Bytes of the body received so far (of the current attempt). */
  received = 0;
  /**
   * The latest chunks received, up to {@link RECENT_BYTES}: readers keeping pace with the
   * download take them from memory instead of reading them back from the file.
   */
  private recent: { readonly start: number; readonly chunk: Buffer }[] = [];
  private recentBytes = 0;
  /** The temporary file, once the body streams to disk. */
  path: string | undefined;
  /** Bumped whenever an attempt starts the file over (a retry): bytes read before may differ. */
  restarts = 0;
  settled: { record: ArtifactRecord } | { error: unknown } | undefined;
  readonly done: Promise<ArtifactRecord>;
  private waiters: (() => void)[] = [];

  constructor(run: (fetch: SharedFetch) => Promise<ArtifactRecord>) {
    this.done = run(this).then(
      (record) => {
        this.settled = { record };
        this.wake();
        return record;
      },
      (error: unknown) => {
        this.settled = { error };
        this.wake();
        throw error;
      },
    );
    // readers that stop listening must not leave an unhandled rejection behind
    this.done.catch(() => undefined);
  }

  /** @internal a chunk of the body as it arrives */
  chunk(chunk: Buffer, offset: number): void {
    if (offset < this.received) {
      this.restarts++;
      this.recent = [];
      this.recentBytes = 0;
    }
    this.received = offset + chunk.length;
    this.recent.push({ start: offset, chunk });
    this.recentBytes += chunk.length;
    while (this.recentBytes > RECENT_BYTES && this.recent.length > 1) this.recentBytes -= this.recent.shift()!.chunk.length;
    this.wake();
  }

  /** Bytes from `position` (before `limit`) still held in memory, or undefined when they are not. */
  fromMemory(position: number, limit: number): Buffer | undefined {
    const recent = this.recent;
    if (recent.length === 0 || position < recent[0]!.start) return undefined;
    for (let i = recent.length - 1; i >= 0; i--) {
      const { start, chunk } = recent[i]!;
      if (position >= start && position < start + chunk.length) return chunk.subarray(position - start, Math.min(chunk.length, limit - start));
    }
    return undefined;
  }

  /** @internal the downloader's progress */
  progress(bytes: number, path: string): void {
    if (bytes < this.bytesOnDisk) this.restarts++;
    this.bytesOnDisk = bytes;
    this.path = path;
    this.wake();
  }

  /** Resolves at the next progress or the end. */
  changed(): Promise<void> {
    if (this.settled !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * Finds the stored bytes of publication entries and fetches the missing ones from their remotes
 * (verified, then stored and recorded), at most once at a time per artifact in this process.
 * Bytes another process stored are found by digest in the catalog, so hosts sharing a store and a
 * storage root fetch an artifact once between them (unless they ask at the same moment).
 */
export class OnDemandArtifacts {
  private readonly fetches = new Map<string, SharedFetch>();
  private readonly located = new Map<string, string>();
  private readonly downloaders = new Map<string, Downloader>();
  private readonly scopeId = `on-demand-${randomUUID()}`;
  private scope: Promise<unknown> | undefined;
  /** Artifacts fetched so far. */
  fetched = 0;

  constructor(
    private readonly store: ContentStore,
    private readonly storage: ArtifactStorage,
    private readonly remote: RemoteOptions = {},
    private readonly onFetched: (entry: PublicationEntry, record: ArtifactRecord) => void = () => undefined,
  ) {}

  /** The sha256 of the entry's stored bytes, or undefined when they are not in storage. */
  async locate(entry: PublicationEntry): Promise<string | undefined> {
    return (await this.locateAll([entry]))[0];
  }

  /**
   * {@link locate} for many entries: one catalog query per digest algorithm, whatever their number.
   * Bytes found are remembered (stored bytes never change), so a file fetched once costs no query again.
   */
  async locateAll(entries: readonly PublicationEntry[]): Promise<(string | undefined)[]> {
    const result: (string | undefined)[] = entries.map((entry) => entry.sha256 ?? this.located.get(fetchKey(entry)));
    const wanted = new Map<DigestAlgorithm, number[]>();
    entries.forEach((entry, i) => {
      if (result[i] !== undefined) return;
      const algorithm = LOOKUP_ORDER.find((a) => entry.digests[a] !== undefined);
      if (algorithm === undefined) return;
      const list = wanted.get(algorithm);
      if (list) list.push(i);
      else wanted.set(algorithm, [i]);
    });
    for (const [algorithm, indexes] of wanted) {
      const found = await this.store.findArtifacts(algorithm, [...new Set(indexes.map((i) => entries[i]!.digests[algorithm]!))]);
      const byDigest = new Map(found.map((record) => [record.digests[algorithm] ?? (algorithm === 'sha256' ? record.sha256 : ''), record]));
      for (const i of indexes) {
        const entry = entries[i]!;
        const record = byDigest.get(entry.digests[algorithm]!);
        if (record && (entry.size === null || record.size === entry.size) && matchesAll(entry, record)) result[i] = this.remember(entry, record.sha256);
      }
    }
    return result;
  }

  private remember(entry: PublicationEntry, sha256: string): string {
    if (this.located.size >= LOCATED_CACHE) this.located.delete(this.located.keys().next().value!);
    this.located.set(fetchKey(entry), sha256);
    return sha256;
  }

  /** Forgets where an entry's bytes were (they were found missing from storage). */
  forget(entry: PublicationEntry): void {
    this.located.delete(fetchKey(entry));
  }

  /**
   * The running fetch of the entry's bytes, or a new one. `feedUrl` is the repository's feed: a
   * `file:` url is fetched only for a repository whose feed is one (as in a sync).
   */
  fetch(entry: PublicationEntry, feedUrl: string | null, signal?: AbortSignal): SharedFetch {
    if (entry.urls.length === 0) {
      throw new TributaryError(ErrorCodes.ARTIFACT_MISSING, `'${entry.path}' has neither stored bytes nor a remote to fetch them from`, { details: { path: entry.path } });
    }
    const key = fetchKey(entry);
    const running = this.fetches.get(key);
    if (running) return running;
    const shared = new SharedFetch(async (self) => {
      await (this.scope ??= this.storage.createScope(this.scopeId));
      const downloader = this.downloaderFor(feedUrl);
      const file = await downloader.download(
        entry.urls,
        { ...(entry.size !== null ? { size: entry.size } : {}), digests: entry.digests },
        signal,
        { onDisk: (bytes, path) => self.progress(bytes, path), onChunk: (chunk, offset) => self.chunk(chunk, offset) },
      );
      const record = await this.storage.adoptDownloaded(file);
      await this.store.upsertArtifacts([record]);
      this.remember(entry, record.sha256);
      this.fetched++;
      this.onFetched(entry, record);
      return record;
    });
    this.fetches.set(key, shared);
    void shared.done.finally(() => this.fetches.delete(key)).catch(() => undefined);
    return shared;
  }

  /** Fetches in progress (for tests and shutdown). */
  get inFlight(): number {
    return this.fetches.size;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.fetches.values()].map((f) => f.done));
    await Promise.allSettled([...this.downloaders.values()].map((d) => d.close()));
    this.downloaders.clear();
    if (this.scope) await this.storage.dropScope(this.scopeId).catch(() => undefined);
  }

  private downloaderFor(feedUrl: string | null): Downloader {
    // the file: rule depends only on whether the feed is a file: url
    const local = feedUrl !== null && feedUrl.startsWith('file:');
    const key = local ? 'file' : 'remote';
    let downloader = this.downloaders.get(key);
    if (!downloader) {
      downloader = new Downloader(this.storage, this.scopeId, this.remote, { feedUrl: local ? 'file:///' : 'https://feed.invalid/' });
      this.downloaders.set(key, downloader);
    }
    return downloader;
  }
}

function fetchKey(entry: PublicationEntry): string {
  for (const algorithm of LOOKUP_ORDER) {
    const digest = entry.digests[algorithm];
    if (digest !== undefined) return `${algorithm}:${digest}`;
  }
  return `url:${entry.urls[0]}`;
}

function matchesAll(entry: PublicationEntry, found: ArtifactRecord): boolean {
  for (const algorithm of DIGEST_ALGORITHMS) {
    const expected = entry.digests[algorithm];
    const actual = found.digests[algorithm] ?? (algorithm === 'sha256' ? found.sha256 : undefined);
    if (expected !== undefined && actual !== undefined && expected !== actual) return false;
  }
  return true;
}
