import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { DIGEST_ALGORITHMS, ErrorCodes, TributaryError, type ArtifactRecord, type DigestAlgorithm } from '@tributary/plugin-api';
import { Downloader, type RemoteOptions } from '../download/index.js';
import type { ArtifactStorage } from '../storage/artifact-storage.js';
import type { ContentStore, PublicationEntry } from '../store/content-store.js';
import { FetchClaims, ownerAlive, readClaim, sizeOf, type ClaimInfo, type HeldClaim } from './fetch-claims.js';

/** Strongest first: the digest an entry is looked up by in storage. */
const LOOKUP_ORDER: readonly DigestAlgorithm[] = ['sha256', 'sha512', 'sha384', 'sha224', 'sha1', 'md5'];
/** Recent body bytes a shared download keeps in memory for the readers following it. */
const RECENT_BYTES = 8 * 1024 * 1024;
/** Entries whose stored bytes an OnDemandArtifacts remembers. */
const LOCATED_CACHE = 100_000;
/** How often a process following another's fetch looks at its file and claim. */
const FOLLOW_POLL_MS = 10;
/** Times a process takes over (or waits on) a fetch another process gave up, before it fails. */
const CLAIM_ROUNDS = 3;
/** How long a stored artifact's record may take to show in the catalog after its claim went (the embedded store commits writes in groups, at least every second). */
const RECORD_VISIBLE_MS = 3000;

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

  /** @internal another process's fetch: its file has `bytes` bytes so far */
  followed(bytes: number, file: string): void {
    if (bytes < this.bytesOnDisk || (this.path !== undefined && file !== this.path)) this.restarts++;
    this.bytesOnDisk = bytes;
    this.received = bytes;
    this.path = file;
    this.wake();
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
 * (verified, then stored and recorded), at most once at a time per artifact: within this process
 * one SharedFetch, across processes on one storage root a claim file (FetchClaims) — the others
 * follow the claimant's file as it grows. Bytes another process stored are found by digest in the
 * catalog.
 */
export class OnDemandArtifacts {
  private readonly fetches = new Map<string, SharedFetch>();
  private readonly located = new Map<string, string>();
  private readonly downloaders = new Map<string, Downloader>();
  private readonly scopeId = `on-demand-${randomUUID()}`;
  private readonly claims: FetchClaims;
  private scope: Promise<unknown> | undefined;
  /** Artifacts fetched so far. */
  fetched = 0;

  constructor(
    private readonly store: ContentStore,
    private readonly storage: ArtifactStorage,
    private readonly remote: RemoteOptions = {},
    private readonly onFetched: (entry: PublicationEntry, record: ArtifactRecord) => void = () => undefined,
  ) {
    this.claims = new FetchClaims(storage.root);
  }

  /** The sha256 of the entry's stored bytes when known without a query (the entry says, or it was located before). */
  locatedNow(entry: PublicationEntry): string | undefined {
    return entry.sha256 ?? this.located.get(fetchKey(entry));
  }

  /** The sha256 of the entry's stored bytes, or undefined when they are not in storage. */
  async locate(entry: PublicationEntry): Promise<string | undefined> {
    return (await this.locateAll([entry]))[0];
  }

  /**
   * {@link locate} for many entries: one catalog query per digest algorithm, whatever their number.
   * Bytes found are remembered (stored bytes never change), so a file fetched once costs no query again.
   */
  async locateAll(entries: readonly PublicationEntry[]): Promise<(string | undefined)[]> {
    const result = entries.map((entry) => this.locatedNow(entry));
    const unknown = result.flatMap((sha256, i) => (sha256 === undefined ? [i] : []));
    const records = await this.findRecords(unknown.map((i) => entries[i]!));
    unknown.forEach((i, j) => (result[i] = records[j]?.sha256));
    return result;
  }

  /** The catalog's records of entries' stored bytes (remembered when found), one query per digest algorithm. */
  private async findRecords(entries: readonly PublicationEntry[]): Promise<(ArtifactRecord | undefined)[]> {
    const result: (ArtifactRecord | undefined)[] = entries.map(() => undefined);
    const wanted = new Map<DigestAlgorithm, number[]>();
    entries.forEach((entry, i) => {
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
        if (record && (entry.size === null || record.size === entry.size) && matchesAll(entry, record)) {
          this.remember(entry, record.sha256);
          result[i] = record;
        }
      }
    }
    return result;
  }

  private remember(entry: PublicationEntry, sha256: string): void {
    if (this.located.size >= LOCATED_CACHE) this.located.delete(this.located.keys().next().value!);
    this.located.set(fetchKey(entry), sha256);
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
      for (let round = 1; ; round++) {
        const claim = await this.claims.claim(key);
        if ('held' in claim) {
          try {
            // stored by a process that held the claim a moment ago?
            return (await this.storedNow(entry)) ?? (await this.download(entry, feedUrl, signal, self, claim.held));
          } finally {
            await claim.held.release();
          }
        }
        const record = await this.follow(entry, claim.file, claim.owner, self, signal);
        if (record) return record;
        if (round >= CLAIM_ROUNDS) {
          throw new TributaryError(ErrorCodes.NETWORK, `'${entry.path}' could not be fetched: ${CLAIM_ROUNDS} fetches of it by this and other processes on the storage root ended without storing it`, {
            details: { path: entry.path },
          });
        }
      }
    });
    this.fetches.set(key, shared);
    void shared.done.finally(() => this.fetches.delete(key)).catch(() => undefined);
    return shared;
  }

  private async download(entry: PublicationEntry, feedUrl: string | null, signal: AbortSignal | undefined, self: SharedFetch, claim: HeldClaim): Promise<ArtifactRecord> {
    await (this.scope ??= this.storage.createScope(this.scopeId));
    const downloader = this.downloaderFor(feedUrl);
    let announced: string | undefined;
    const file = await downloader.download(
      entry.urls,
      { ...(entry.size !== null ? { size: entry.size } : {}), digests: entry.digests },
      signal,
      {
        onDisk: (bytes, path) => {
          if (path !== announced) claim.streamingTo((announced = path));
          self.progress(bytes, path);
        },
        onChunk: (chunk, offset) => self.chunk(chunk, offset),
      },
    );
    const record = await this.storage.adoptDownloaded(file);
    await this.store.upsertArtifacts([record]);
    this.remember(entry, record.sha256);
    this.fetched++;
    this.onFetched(entry, record);
    return record;
  }

  /**
   * Follows another process's fetch of the entry: its file as it grows, until its claim goes. The
   * stored artifact then, or undefined when it stored nothing (it failed, died or stalled).
   */
  private async follow(entry: PublicationEntry, claimFile: string, owner: ClaimInfo, self: SharedFetch, signal: AbortSignal | undefined): Promise<ArtifactRecord | undefined> {
    // an owner on another machine cannot be asked whether it runs: silence this long means it does not
    const staleMs = 3 * this.remoteIdleMs() + 30_000;
    let lastSize = -1;
    let lastChange = Date.now();
    for (;;) {
      signal?.throwIfAborted();
      const claim = await readClaim(claimFile);
      if (claim === 'gone') return this.storedByOther(entry);
      const current = claim === 'unreadable' ? owner : claim;
      if (!ownerAlive(current)) {
        await this.claims.breakStale(claimFile);
        return undefined;
      }
      if (current.path !== undefined) {
        const size = await sizeOf(current.path);
        if (size !== undefined && (size !== lastSize || current.path !== self.path)) {
          lastSize = size;
          lastChange = Date.now();
          self.followed(size, current.path);
        }
      }
      if (Date.now() - lastChange > staleMs) {
        await this.claims.breakStale(claimFile);
        return undefined;
      }
      await delay(FOLLOW_POLL_MS);
    }
  }

  /**
   * The entry's artifact if it is stored now: in storage by its sha256 (stored bytes are named by
   * it and only placed once verified, while the catalog's record may still sit in another process's
   * group commit), else in the catalog.
   */
  private async storedNow(entry: PublicationEntry): Promise<ArtifactRecord | undefined> {
    const sha256 = entry.digests.sha256;
    if (sha256 !== undefined) {
      const size = await sizeOf(this.storage.pathFor(sha256));
      if (size !== undefined && (entry.size === null || size === entry.size)) {
        this.remember(entry, sha256);
        return { sha256, size, digests: { ...entry.digests } };
      }
    }
    return (await this.findRecords([entry]))[0];
  }

  /** The entry's artifact once another process's claim on it went, or undefined when it stored none. */
  private async storedByOther(entry: PublicationEntry): Promise<ArtifactRecord | undefined> {
    const until = Date.now() + RECORD_VISIBLE_MS;
    for (;;) {
      const stored = await this.storedNow(entry);
      if (stored || Date.now() >= until) return stored;
      await delay(50);
    }
  }

  private remoteIdleMs(): number {
    return this.remote.idleTimeoutMs ?? 60_000;
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
