import { inject, injectable } from 'tsyringe';
import { ErrorCodes, TributaryError, type UnitInput, type UnitKey, type UnitRef } from '@tributary/plugin-api';
import { SeenMarks } from '../conduit/seen-marks.js';
import { sourceDigest } from '../conduit/source-digest.js';
import { SYNC_SCOPE, type SyncScope } from '../conduit/sync-scope.js';
import { UnitWrites } from '../conduit/unit-writes.js';
import type { ContentStore, SeenUnit, UnitWrite } from '../store/content-store.js';
import { FINGERPRINT_FIELDS, unitIdKey } from '../store/unit-fingerprint.js';
import { CONTENT_STORE, HOST_OPTIONS, type HostOptionsToken } from '../tokens.js';
import { BaseVersionIndex } from './base-version-index.js';
import { ContentSources } from './content-sources.js';

const NO_ARTIFACTS: NonNullable<UnitInput['artifacts']> = [];

/** Content as {@link ResyncService.findUnchangedBySource} looks it up. */
export interface SourcedContent {
  readonly typeId: string;
  readonly key: UnitKey;
  readonly source: string;
}

/**
 * The re-sync shortcut of one sync: which content the repository's base version already holds
 * exactly as writing it now would store it, so that a re-sync of a repository that changed little
 * does the full work only for what changed. Content found unchanged is marked seen in the version
 * being written (as associating it would) and never reaches the stages that store content.
 *
 * Two ways to find it, cheapest first:
 * - **by source** (content provenance, where the store keeps it: {@link ContentStore.provenance}):
 *   content that names the upstream record it was built from is unchanged when the base version
 *   holds a row recorded from the same record under the same settings, its unit unwritten since;
 * - **by fingerprint**: the fingerprint of the row writing the content would store (built and
 *   checked as {@link UnitWrites} builds it for the conduit, so a skip hides no error) equals the
 *   stored row's (see unit-fingerprint.ts).
 *
 * The base version is read once, page by page, from {@link readBaseAhead} or the first lookup.
 * QueryExistingContents asks it per batch; a first stage asks it through
 * FirstStageContext.keepUnchanged before it builds anything.
 */
@injectable()
export class ResyncService {
  private base: Promise<BaseVersionIndex> | undefined;
  /** False once nothing more will be asked of the base version. */
  private wanted = true;
  /** Content rows found unchanged and not yet marked seen. */
  private unmarked: SeenUnit[] = [];
  private readonly sources: ContentSources;
  /** Whether what this sync finds unchanged gets its source recorded (the store keeps provenance). */
  private readonly recordsSources: boolean;
  private readonly batchSize: number;
  /** How a {@link LazyUnitRef} works out its id when somebody reads it. */
  private readonly unitIds: { unitIdOf(typeId: string, key: UnitKey): string };

  constructor(
    @inject(CONTENT_STORE) private readonly store: ContentStore,
    @inject(SYNC_SCOPE) private readonly scope: SyncScope,
    @inject(HOST_OPTIONS) options: HostOptionsToken,
    @inject(UnitWrites) private readonly writes: UnitWrites,
    @inject(SeenMarks) private readonly marks: SeenMarks,
  ) {
    this.batchSize = options.batchSize;
    const provenance = store.provenance;
    this.recordsSources = scope.sourceContext !== undefined && provenance !== undefined;
    const readSources =
      this.recordsSources && scope.baseVersion >= 1 ? () => provenance!.repoUnitSources(scope.repository.id, scope.baseVersion) : undefined;
    this.sources = new ContentSources(scope.sourceContext ?? '', readSources, () => this.checkAborted());
    this.unitIds = { unitIdOf: (typeId, key) => writes.unitIdOf(typeId, key) };
  }

  /**
   * Starts reading the base version now, ahead of the first lookup, so the read overlaps with the
   * importer fetching and parsing its index. Recorded sources first: when the base version has
   * them, fingerprints are read only if some content is not found by its source. Failures surface
   * at the first lookup.
   */
  readBaseAhead(): void {
    if (!this.wanted) return;
    this.sources
      .table()
      .then((sources) => (sources.size === 0 ? this.baseIndex() : undefined))
      .catch(() => undefined);
  }

  /** False once it is known that nothing can be unchanged (no base version, nothing recorded): no need to ask. */
  async mayFindUnchanged(): Promise<boolean> {
    return (await this.sources.table()).size > 0 || (await this.baseIndex()).size > 0;
  }

  /** Whether the base version has recorded sources to find content by ({@link findUnchangedBySource}). */
  async hasRecordedSources(): Promise<boolean> {
    return (await this.sources.table()).size > 0;
  }

  /**
   * FirstStageContext.keepUnchanged: marks seen, in the version being written, the base version's
   * content rows recorded from these sources under this sync's settings whose units nothing
   * rewrote since, and says which sources it found. Nothing is kept when the pipeline does not
   * skip unchanged content (a plugin stage after QueryExistingContents must see all of it).
   */
  async keepUnchanged(sources: readonly string[]): Promise<boolean[]> {
    this.checkAborted();
    if (!this.wanted || !this.sources.supported) return new Array<boolean>(sources.length).fill(false);
    const rows = await this.sources.contentRows(sources);
    const seen: SeenUnit[] = [];
    const kept = rows.map((contentRow) => {
      if (contentRow < 0) return false;
      seen.push({ unitId: '', contentRow });
      return true;
    });
    await this.marks.write(seen);
    return kept;
  }

  /**
   * For each unit, its ref when the base version holds it exactly as writing it now would store it
   * (same metadata, files and this remote's sources), otherwise undefined. Units handing over a
   * downloaded `file` are never unchanged. `sources[i]`, the upstream record unit i was built
   * from, is recorded with the rows found, so the next sync finds them by source.
   */
  async findUnchanged(units: readonly UnitInput[], sources?: readonly (string | undefined)[]): Promise<(UnitRef | undefined)[]> {
    const answers = new Array<UnitRef | undefined>(units.length).fill(undefined);
    const index = await this.baseIndex();
    if (index.size === 0) return answers;
    for (let start = 0; start < units.length; start += this.batchSize) {
      this.checkAborted();
      const writes: UnitWrite[] = [];
      const positions: number[] = [];
      for (let i = start; i < Math.min(units.length, start + this.batchSize); i++) {
        const unit = units[i]!;
        const unitId = this.writes.unitIdOf(unit.typeId, unit.key);
        if (!index.hasUnit(unitIdKey(unitId))) continue;
        if ((unit.artifacts ?? NO_ARTIFACTS).some((artifact) => artifact.file !== undefined)) continue;
        writes.push(this.writes.write(unit, unitId));
        positions.push(i);
      }
      if (writes.length === 0) continue;
      const fingerprints = this.store.unitFingerprints(writes);
      writes.forEach((write, k) => {
        const row = index.contentRowOf(fingerprints, k * FINGERPRINT_FIELDS);
        if (row < 0) return;
        answers[positions[k]!] = { unitId: write.unitId, typeId: write.typeId, key: write.key };
        // the row is what this content writes: from now on it is known by its source too
        const source = this.recordsSources ? sources?.[positions[k]!] : undefined;
        this.unmarked.push(
          source === undefined
            ? { unitId: write.unitId, contentRow: row }
            : { unitId: write.unitId, contentRow: row, source: sourceDigest(this.scope.sourceContext!, source) },
        );
      });
    }
    return answers;
  }

  /**
   * Per content, in order: its ref when the base version holds a row recorded from the same
   * upstream record under the same settings, its unit unwritten since; otherwise undefined. The
   * ref's unit id is worked out only if somebody reads it (a future awaiting the unit, say).
   */
  async findUnchangedBySource(contents: readonly SourcedContent[]): Promise<(UnitRef | undefined)[]> {
    if (!this.sources.supported) return new Array<UnitRef | undefined>(contents.length).fill(undefined);
    const rows = await this.sources.contentRows(contents.map((content) => content.source));
    return contents.map(({ typeId, key }, i) => {
      const contentRow = rows[i]!;
      if (contentRow < 0) return undefined;
      // stores that record sources mark seen by content row
      this.unmarked.push({ unitId: '', contentRow });
      return new LazyUnitRef(typeId, key, this.unitIds);
    });
  }

  /**
   * Starts marking what the lookups found since the last call seen by the version being written,
   * as associating them would (they are present already); see {@link SeenMarks}.
   */
  markUnchangedSeen(): Promise<void> {
    const rows = this.unmarked;
    this.unmarked = [];
    return this.marks.write(rows);
  }

  /** Resolves once every seen mark started so far is written. */
  settled(): Promise<void> {
    return this.marks.settled();
  }

  /**
   * Nothing more will be asked: a read of the base version still going on stops at its next page
   * (a sync that finished early must not wait for it).
   */
  done(): void {
    this.wanted = false;
    this.sources.stop();
  }

  /** The base version's fingerprints, read on first use; empty without a base version. */
  private baseIndex(): Promise<BaseVersionIndex> {
    this.base ??= (async () => {
      const index = new BaseVersionIndex();
      if (this.scope.baseVersion < 1) return index;
      for await (const page of this.store.repoUnitFingerprints(this.scope.repository.id, this.scope.baseVersion, this.scope.remoteName)) {
        this.checkAborted();
        // a partial index is still right, only less useful: what it lacks goes the long way
        if (!this.wanted) break;
        index.addAll(page);
      }
      return index;
    })();
    return this.base;
  }

  private checkAborted(): void {
    if (this.scope.signal.aborted) {
      throw new TributaryError(ErrorCodes.SYNC_CANCELLED, 'the sync was cancelled', { cause: this.scope.signal.reason });
    }
  }
}

/** A unit ref whose id is hashed from its key only when read (most are never read). */
class LazyUnitRef implements UnitRef {
  private id: string | undefined;

  constructor(
    readonly typeId: string,
    readonly key: UnitKey,
    private readonly unitIds: { unitIdOf(typeId: string, key: UnitKey): string },
  ) {}

  get unitId(): string {
    return (this.id ??= this.unitIds.unitIdOf(this.typeId, this.key));
  }

  toJSON(): UnitRef {
    return { unitId: this.unitId, typeId: this.typeId, key: this.key };
  }
}
