import type { CountsByType, DownloadPolicy, SkippedUnit, SyncReport, TributaryError } from '@tributary/plugin-api';

/**
 * A sync took its repository's lease and began writing `version`. Every `sync.started` is followed
 * by exactly one `sync.finished` or `sync.failed` with the same `syncId`. A sync refused before it
 * began (unknown repository, bad options, another sync holding the lease) emits nothing: the caller
 * gets the error.
 */
export interface SyncStartedEvent {
  readonly repository: string;
  /** Identifies this sync in the events that follow. */
  readonly syncId: string;
  readonly importer: string;
  /** The feed url, without credentials. */
  readonly url: string;
  readonly policy: DownloadPolicy;
  readonly mirror: boolean;
  readonly force: boolean;
  /** The version being written: the latest + 1. */
  readonly version: number;
  /** How many units whose files fail the sync may leave out; absent when it fails at the first. */
  readonly skipLimit?: number;
}

/**
 * A sync succeeded: committed a new version, or kept the latest when nothing changed. Told once the
 * sync let go of the repository's lease, so a listener may start the repository's next sync.
 */
export interface SyncFinishedEvent {
  readonly repository: string;
  readonly syncId: string;
  /** The repository's latest version after the sync. */
  readonly version: number;
  /** Whether the sync committed `version` (false: nothing changed, or it finished early). */
  readonly newVersion: boolean;
  /** Units added, updated and removed, per content type (what `version.committed` also says). */
  readonly added: CountsByType;
  readonly updated: CountsByType;
  readonly removed: CountsByType;
  /** Units left out because their files failed (`onError` skip). */
  readonly skipped: number;
  /** Set when the importer saw nothing had changed upstream. */
  readonly finishedEarly?: string;
  readonly durationMs: number;
  /** The report kept in sync history. */
  readonly report: SyncReport;
}

/** A sync failed or was cancelled; the repository's latest version is what it was before. Told once the lease is released. */
export interface SyncFailedEvent {
  readonly repository: string;
  readonly syncId: string;
  /** The repository's latest version, unchanged. */
  readonly version: number;
  /** True for a cancellation (SyncOptions.signal), false for a failure. */
  readonly cancelled: boolean;
  /** The error the sync rejects with (TRIBUTARY_ERR_SYNC_FAILED or _SYNC_CANCELLED, its cause within). */
  readonly error: TributaryError;
  readonly durationMs: number;
}

/** A sync left a unit out of the version it writes: a file of the unit failed (`onError` skip). */
export interface UnitSkippedEvent {
  readonly repository: string;
  readonly syncId: string;
  readonly unit: SkippedUnit;
}

/**
 * A new repository version was committed, by a sync or by a user adding or removing units. Told
 * right after the commit, while whatever committed it still holds the repository's lease (a sync
 * tells `sync.finished` after it).
 */
export interface VersionCommittedEvent {
  readonly repository: string;
  readonly version: number;
  readonly by: 'sync' | 'user';
  /** Units the version added and removed compared with the one before, per content type. */
  readonly added: CountsByType;
  readonly removed: CountsByType;
}

/** A distribution was created, changed or deleted: what the content app serves changes with it. */
export interface DistributionChangedEvent {
  readonly change: 'created' | 'updated' | 'deleted';
  readonly name: string;
  /** What it serves now (`version` null: the latest); null once deleted. */
  readonly distribution: {
    readonly basePath: string;
    /** null when its repository was deleted. */
    readonly repository: string | null;
    readonly version: number | null;
  } | null;
}

/** Bytes of a file a version's publication lists, fetched on demand from upstream, verified and stored. */
export interface ArtifactFetchedEvent {
  /** Who asked: the content app (`tributary serve`) or an export. */
  readonly via: 'serve' | 'export';
  /** The file's path in the publication. */
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  /** The unit the file belongs to. */
  readonly unitId: string | null;
}

/** Every event a host emits, by name. */
export interface HostEventMap {
  'sync.started': SyncStartedEvent;
  'sync.finished': SyncFinishedEvent;
  'sync.failed': SyncFailedEvent;
  'sync.unit-skipped': UnitSkippedEvent;
  'version.committed': VersionCommittedEvent;
  'distribution.changed': DistributionChangedEvent;
  'artifact.fetched': ArtifactFetchedEvent;
}

export type HostEventName = keyof HostEventMap;

/**
 * The `diagnostics_channel` each event is also published on, by event name: `tributary:` and the
 * event's name with `:` for `.`. A channel message is the event with the emitting host's `hostId`
 * added (channels are process-wide; several hosts may share a process).
 */
export const HOST_EVENT_CHANNELS: Readonly<Record<HostEventName, string>> = {
  'sync.started': 'tributary:sync:started',
  'sync.finished': 'tributary:sync:finished',
  'sync.failed': 'tributary:sync:failed',
  'sync.unit-skipped': 'tributary:sync:unit-skipped',
  'version.committed': 'tributary:version:committed',
  'distribution.changed': 'tributary:distribution:changed',
  'artifact.fetched': 'tributary:artifact:fetched',
};
