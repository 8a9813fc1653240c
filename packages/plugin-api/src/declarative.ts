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
  notify(): void {
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
  readonly artifacts?: readonly (DeclarativeArtifact | DeclarativeArtifactInit)[];
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
  metadata: Readonly<Record<string, unknown>>;
  readonly artifacts: readonly DeclarativeArtifact[];
  /** Set by QueryExistingContents when the unit is already stored. */
  existing: ExistingUnit | undefined;
  /** Set by ContentSaver (or QueryExistingContents) once the unit is stored. */
  unit: UnitRef | undefined;
  /** Whether ContentSaver found the stored metadata different (an update). */
  updated = false;

  private future: Promise<UnitRef | undefined> | undefined;
  private settle: ((unit: UnitRef | undefined) => void) | undefined;
  private done = false;
  private awaitedFlag = false;

  constructor(init: DeclarativeContentInit) {
    this.typeId = init.typeId;
    this.key = init.key;
    this.metadata = init.metadata ?? {};
    this.artifacts = (init.artifacts ?? []).map((a) => (a instanceof DeclarativeArtifact ? a : new DeclarativeArtifact(a)));
    this.existing = undefined;
    this.unit = undefined;
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
   * resolved early, then with `undefined` unless a unit was given). Awaiting it makes batching stages
   * flush a partial batch holding this content, so multi-level discovery never deadlocks.
   */
  resolution(): Promise<UnitRef | undefined> {
    if (!this.future) {
      this.future = this.done
        ? Promise.resolve(this.unit)
        : new Promise<UnitRef | undefined>((resolve) => (this.settle = resolve));
    }
    if (!this.done && !this.awaitedFlag) {
      this.awaitedFlag = true;
      futureAwaitedSignal().notify();
    }
    return this.future;
  }

  /** Completes the future (with the stored unit, if any) and wakes its waiters. Idempotent. */
  resolve(unit: UnitRef | undefined = this.unit): void {
    if (this.done) return;
    this.done = true;
    if (unit) this.unit = unit;
    this.settle?.(unit);
  }
}
