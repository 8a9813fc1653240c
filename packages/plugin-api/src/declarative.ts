import type { ArtifactRecord, Digests, ExistingUnit, UnitKey, UnitRef } from './content.js';
import type { DownloadedFile } from './conduit.js';
import { ErrorCodes, TributaryError } from './errors.js';

/**
 * Wakes batching stages when somebody starts awaiting a future that may still sit inside a batch.
 * Kept on `globalThis` under a `Symbol.for` key so that duplicated copies of plugin-api (one in a
 * plugin, one in the host) share it.
 */
class FutureAwaitedSignal {
  private waiters: Array<() => void> = [];
  /** Counts notifications, so a batcher can tell synchronously whether one happened while it waited. */
  generation = 0;
  notify(): void {
    this.generation++;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
  next(): { promise: Promise<void>; cancel: () => void } {
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => (wake = resolve));
    this.waiters.push(wake);
    return {
      promise,
      cancel: () => {
        const index = this.waiters.indexOf(wake);
        if (index >= 0) this.waiters.splice(index, 1);
      },
    };
  }
}

const SIGNAL_KEY = Symbol.for('tributary.pipeline.futureAwaited');
export function futureAwaitedSignal(): FutureAwaitedSignal {
  const holder = globalThis as unknown as Record<symbol, FutureAwaitedSignal | undefined>;
  return (holder[SIGNAL_KEY] ??= new FutureAwaitedSignal());
}

/**
 * Rejecters of awaited futures, per sync signal: when a sync stops, a plugin awaiting
 * `resolution()` of content still in the pipeline must wake up rather than hang the pipeline.
 * One abort listener per signal, however many futures are awaited.
 */
const pendingBySignal = new WeakMap<AbortSignal, Set<(reason: unknown) => void>>();

function rejectOnAbort(signal: AbortSignal, reject: (reason: unknown) => void): void {
  if (signal.aborted) {
    reject(signal.reason);
    return;
  }
  let pending = pendingBySignal.get(signal);
  if (!pending) {
    const created = new Set<(reason: unknown) => void>();
    pendingBySignal.set(signal, created);
    signal.addEventListener(
      'abort',
      () => {
        pendingBySignal.delete(signal);
        for (const rejectOne of created) rejectOne(signal.reason);
        created.clear();
      },
      { once: true },
    );
    pending = created;
  }
  pending.add(reject);
}

function forgetOnAbort(signal: AbortSignal, reject: (reason: unknown) => void): void {
  pendingBySignal.get(signal)?.delete(reject);
}

/**
 * Content whose `resolution()` somebody awaits although it was never put() into a pipeline: that
 * future can only settle by an explicit `resolve()`, so a first stage awaiting it waits forever.
 * The host's progress watchdog names it. Shared through `globalThis` like the signal above; holds at
 * most {@link MAX_AWAITED_UNPUT} (the oldest is forgotten), and content leaves it once put or resolved.
 */
const AWAITED_UNPUT_KEY = Symbol.for('tributary.pipeline.awaitedUnput');
const MAX_AWAITED_UNPUT = 64;

function awaitedUnputSet(): Map<DeclarativeContent, number> {
  const holder = globalThis as unknown as Record<symbol, Map<DeclarativeContent, number> | undefined>;
  return (holder[AWAITED_UNPUT_KEY] ??= new Map());
}

/**
 * Content awaited (`resolution()`) but never put() nor resolved, oldest first: what a hung first
 * stage may be waiting on. `since` (a `Date.now()` time) leaves out what was awaited before it.
 */
export function contentAwaitedBeforePut(since = 0): readonly DeclarativeContent[] {
  return [...awaitedUnputSet()].filter(([, at]) => at >= since).map(([dc]) => dc);
}

export interface DeclarativeArtifactInit {
  /** Where to fetch the bytes: one url, or several tried in turn. */
  readonly url: string | readonly string[];
  /** The file's path inside the repository. */
  readonly relativePath: string;
  readonly size?: number;
  readonly digests?: Digests;
  /**
   * Leave undefined to follow the sync's policy. `false` downloads the bytes even in an
   * `on_demand` sync (needed when a later stage reads the file for further discovery).
   */
  readonly deferredDownload?: boolean;
}

/** A file of a unit-to-be: where to get it and what it must match. Stages fill in the rest. */
export class DeclarativeArtifact {
  readonly urls: readonly string[];
  readonly relativePath: string;
  readonly size: number | undefined;
  readonly digests: Digests;
  readonly deferredDownload: boolean | undefined;
  /** Set once the bytes are known to be in storage (found by QueryExistingArtifacts, or saved). */
  stored: ArtifactRecord | undefined;
  /** Set by ArtifactDownloader until ArtifactSaver adopts the file. */
  downloaded: DownloadedFile | undefined;

  constructor(init: DeclarativeArtifactInit) {
    const urls = typeof init.url === 'string' ? [init.url] : [...init.url];
    if (urls.length === 0) {
      throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `artifact '${init.relativePath}' has no url`);
    }
    this.urls = urls;
    this.relativePath = init.relativePath;
    this.size = init.size;
    this.digests = { ...(init.digests ?? {}) };
    this.deferredDownload = init.deferredDownload;
    this.stored = undefined;
    this.downloaded = undefined;
  }
}

export interface DeclarativeContentInit {
  readonly typeId: string;
  readonly key: UnitKey;
  readonly metadata?: Readonly<Record<string, unknown>>;
  /**
   * The metadata as JSON text instead of `metadata`, written as `canonicalJson` writes it
   * (keys sorted at every level). For a first stage that has the text anyway, say built on a
   * parsing thread of its own: the host checks it (it must be a JSON object that satisfies the
   * type's schema) and stores the text as it is, which spares the pipeline's thread serialising
   * every unit's metadata. Text that is not canonical is stored as given too; a re-sync then
   * compares that unit's metadata the long way instead of by its fingerprint.
   */
  readonly metadataJson?: string;
  readonly artifacts?: readonly (DeclarativeArtifact | DeclarativeArtifactInit)[];
  /**
   * The upstream record this content was built from, as the importer read it: a manifest line,
   * say. Give it only when the content is a pure function of this text and the sync's settings
   * (importer, its version and config, feed url, policy). The host then records, with the unit's
   * place in the repository, a digest of this text under those settings; a later sync, forced or
   * not, that meets the same record under the same settings while the stored unit has not
   * changed since skips the content without building its row again. Without it, a re-sync
   * compares the row it would write with the stored one, which costs about as much per unit as
   * writing it.
   */
  readonly source?: string;
}

/**
 * What a unit will look like once its files are downloaded and it is saved: the item that flows
 * through the pipeline. A first stage creates one per upstream unit and `put()`s it.
 *
 * `resolution()` is a future for the saved unit (multi-level discovery); `resolve()` completes it
 * early, which also tells stages to drop the content instead of passing it on.
 */
export class DeclarativeContent {
  readonly typeId: string;
  readonly key: UnitKey;
  readonly artifacts: readonly DeclarativeArtifact[];
  /** Set by QueryExistingContents when the unit is already stored. */
  existing: ExistingUnit | undefined;
  /** Set by ContentSaver (or QueryExistingContents) once the unit is stored. */
  unit: UnitRef | undefined;
  /** Whether ContentSaver found the stored metadata different (an update). */
  updated = false;
  /** The upstream record the content was built from ({@link DeclarativeContentInit.source}). */
  readonly source: string | undefined;

  private metadataValue: Readonly<Record<string, unknown>> | undefined;
  private metadataText: string | undefined;
  private future: Promise<UnitRef | undefined> | undefined;
  private settle: ((unit: UnitRef | undefined) => void) | undefined;
  private cancel: ((reason: unknown) => void) | undefined;
  private syncSignal: AbortSignal | undefined;
  private done = false;
  private awaitedFlag = false;

  constructor(init: DeclarativeContentInit) {
    this.typeId = init.typeId;
    this.key = init.key;
    if (init.metadataJson !== undefined) {
      if (init.metadata !== undefined) {
        throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `content of type '${init.typeId}' gives both metadata and metadataJson; give one`, {
          details: { typeId: init.typeId, key: init.key },
        });
      }
      if (typeof init.metadataJson !== 'string') {
        throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `metadataJson of content of type '${init.typeId}' must be a string`, {
          details: { typeId: init.typeId, key: init.key },
        });
      }
      this.metadataText = init.metadataJson;
    } else {
      this.metadataValue = init.metadata ?? {};
    }
    this.artifacts = (init.artifacts ?? []).map((a) => (a instanceof DeclarativeArtifact ? a : new DeclarativeArtifact(a)));
    if (init.source !== undefined && typeof init.source !== 'string') {
      throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `source of content of type '${init.typeId}' must be a string`, {
        details: { typeId: init.typeId, key: init.key },
      });
    }
    this.source = init.source;
    this.existing = undefined;
    this.unit = undefined;
  }

  /**
   * The unit's metadata. Given as `metadataJson`, it is parsed on first read, and from then on
   * this object is what gets stored (a stage may replace it); an error reading invalid text is
   * `TRIBUTARY_ERR_UNIT_METADATA_INVALID`.
   */
  get metadata(): Readonly<Record<string, unknown>> {
    if (this.metadataValue === undefined) this.metadataValue = parseMetadataJson(this.metadataText!, this.typeId, this.key);
    this.metadataText = undefined;
    return this.metadataValue;
  }

  set metadata(value: Readonly<Record<string, unknown>>) {
    this.metadataValue = value;
    this.metadataText = undefined;
  }

  /** The metadata's JSON text as given (`metadataJson`), until somebody reads or sets `metadata`. */
  get metadataJson(): string | undefined {
    return this.metadataText;
  }

  /** True once `resolve()` ran: stages drop such content instead of passing it on. */
  get resolved(): boolean {
    return this.done;
  }

  /** True once somebody awaits `resolution()` and it is not settled yet. */
  get awaited(): boolean {
    return this.awaitedFlag && !this.done;
  }

  /**
   * A promise of the stored unit, settled when the content reaches ResolveContentFutures (or is
   * resolved early, then with `undefined` unless a unit was given; also with `undefined` when the host
   * left the content out, as a sync told to skip units whose files fail does). Awaiting it makes batching stages
   * flush a partial batch holding this content, so multi-level discovery never deadlocks.
   *
   * Rejects with `TRIBUTARY_ERR_SYNC_CANCELLED` if the sync stops (fails or is cancelled) while the
   * content is still in the pipeline.
   */
  resolution(): Promise<UnitRef | undefined> {
    if (!this.future) {
      if (this.done) {
        this.future = Promise.resolve(this.unit);
      } else {
        this.future = new Promise<UnitRef | undefined>((resolve, reject) => {
          this.settle = resolve;
          this.cancel = (reason: unknown) => {
            this.settle = undefined;
            this.cancel = undefined;
            reject(
              new TributaryError(ErrorCodes.SYNC_CANCELLED, 'the sync stopped before this content was resolved', {
                cause: reason,
                details: { typeId: this.typeId, key: this.key },
              }),
            );
          };
        });
        // Whoever holds the promise sees the rejection; one nobody awaits must not crash the process.
        this.future.catch(() => undefined);
        if (this.syncSignal) rejectOnAbort(this.syncSignal, this.cancel!);
      }
    }
    if (!this.done && !this.awaitedFlag) {
      this.awaitedFlag = true;
      if (!this.syncSignal) {
        const unput = awaitedUnputSet();
        if (unput.size >= MAX_AWAITED_UNPUT) unput.delete(unput.keys().next().value as DeclarativeContent);
        unput.set(this, Date.now());
      }
      futureAwaitedSignal().notify();
    }
    return this.future;
  }

  /** Completes the future (with the stored unit, if any) and wakes its waiters. Idempotent. */
  resolve(unit: UnitRef | undefined = this.unit): void {
    if (this.done) return;
    this.done = true;
    if (this.awaitedFlag && !this.syncSignal) awaitedUnputSet().delete(this);
    if (unit) this.unit = unit;
    if (this.syncSignal && this.cancel) forgetOnAbort(this.syncSignal, this.cancel);
    this.cancel = undefined;
    this.settle?.(unit);
  }

  /**
   * @internal Called by `Stage.put()`: ties the future to the running sync, so that an awaited
   * `resolution()` rejects instead of hanging when the sync stops. The first binding wins.
   */
  bindToSync(signal: AbortSignal): void {
    if (this.syncSignal || this.done) return;
    this.syncSignal = signal;
    if (this.awaitedFlag) awaitedUnputSet().delete(this);
    if (this.cancel) rejectOnAbort(signal, this.cancel);
  }
}

/**
 * Metadata given as JSON text, parsed: it must be a JSON object. Errors are
 * `TRIBUTARY_ERR_UNIT_METADATA_INVALID` naming the content.
 */
export function parseMetadataJson(text: string, typeId: string, key: UnitKey): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TributaryError(ErrorCodes.UNIT_METADATA_INVALID, `metadataJson of a '${typeId}' unit is not JSON: ${(error as Error).message}`, {
      details: { typeId, key },
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TributaryError(ErrorCodes.UNIT_METADATA_INVALID, `metadataJson of a '${typeId}' unit must be a JSON object`, { details: { typeId, key } });
  }
  return value as Record<string, unknown>;
}
