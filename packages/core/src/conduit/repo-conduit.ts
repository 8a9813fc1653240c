import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { inject, injectable } from 'tsyringe';
import {
  canonicalUnitKey,
  ErrorCodes,
  parseMetadataJson,
  TributaryError,
  type ArtifactRecord,
  type CountsByType,
  type DigestAlgorithm,
  type DownloadedFile,
  type ExistingUnit,
  type ImportConduit,
  type RemoteArtifactInput,
  type RepoUnitKey,
  type UnitInput,
  type UnitKey,
  type UnitRef,
} from '@tributary/plugin-api';
import { PluginRegistry } from '../plugins/plugin-registry.js';
import { ArtifactStorage } from '../storage/artifact-storage.js';
import { resolveInside, safeRelativePath } from '../storage/safe-relative-path.js';
import type { ContentStore, RemoteArtifactRecord, SeenUnit, UnitWrite } from '../store/content-store.js';
import { unitIdFor } from '../store/unit-id.js';
import { CONTENT_STORE, HOST_OPTIONS, type HostOptionsToken } from '../host/tokens.js';
import { SYNC_SCOPE, type SyncScope } from './sync-scope.js';
import { validateDigests, validLowerCaseDigests } from './digests.js';
import { RecentUnitIds } from './recent-unit-ids.js';
import { RemoteUrlCheck } from './remote-url-check.js';
import { BaseVersionIndex } from './base-version-index.js';
import { ContentSources } from './content-sources.js';
import { FINGERPRINT_FIELDS, unitIdKey } from '../store/unit-fingerprint.js';

const ADOPT_CONCURRENCY = 16;

/**
 * Keys per generation of remembered unit ids: default stages save content at most ~5,500 items
 * after looking it up (batches of 1,000 in four stages, the queues and the download window).
 */
const RECENT_UNIT_IDS = 8192;

const NO_ARTIFACTS: NonNullable<UnitInput['artifacts']> = [];

/**
 * The repository-scoped conduit a sync hands its importer (and the default stages). Every call
 * works on arrays and is split into store batches of `batchSize`; nothing is per unit.
 */
@injectable()
export class RepoConduit implements ImportConduit {
  readonly repositoryId: string;
  readonly workingDir: string;
  readonly batchSize: number;
  private readonly unitIds = new RecentUnitIds(RECENT_UNIT_IDS);
  private readonly remoteUrls = new RemoteUrlCheck();
  private base: Promise<BaseVersionIndex> | undefined;
  /** False once the pipeline asks nothing more of the base version's fingerprints. */
  private baseWanted = true;
  /** Content rows found unchanged and not yet marked seen. */
  private unmarked: SeenUnit[] = [];
  /** Content provenance: recorded with what this sync associates, looked up before fingerprints. */
  private readonly sources: ContentSources;
  /** Seen marks of content kept by {@link keepUnchangedSources}, written while the importer goes on. */
  private keptMarks: Promise<void> = Promise.resolve();
  /** Whether what this sync associates or finds unchanged gets its source recorded (the store keeps provenance). */
  private readonly recordsSources: boolean;
  /** How a {@link LazyUnitRef} works out its id when somebody reads it. */
  private readonly unitIdRefs = { unitIdOf: (typeId: string, key: UnitKey) => this.unitIdOf(typeId, key) };

  constructor(
    @inject(CONTENT_STORE) private readonly store: ContentStore,
    @inject(ArtifactStorage) private readonly storage: ArtifactStorage,
    @inject(PluginRegistry) private readonly registry: PluginRegistry,
    @inject(HOST_OPTIONS) options: HostOptionsToken,
    @inject(SYNC_SCOPE) private readonly scope: SyncScope,
  ) {
    this.repositoryId = scope.repository.id;
    this.workingDir = scope.workingDir;
    this.batchSize = options.batchSize;
    this.recordsSources = scope.sourceContext !== undefined && store.repoUnitSources !== undefined && store.markSeen !== undefined;
    const readSources =
      this.recordsSources && scope.baseVersion >= 1 ? () => store.repoUnitSources!(this.repositoryId, scope.baseVersion) : undefined;
    this.sources = new ContentSources(scope.sourceContext ?? '', readSources, () => this.checkAborted());
  }

  unitKeysForRepo(typeId?: string): AsyncIterable<RepoUnitKey> {
    if (typeId !== undefined) this.registry.contentType(typeId);
    return this.store.repoUnitKeys(this.repositoryId, this.scope.baseVersion, typeId);
  }

  async requestUnitFilename(typeId: string, relativePath: string): Promise<string> {
    this.registry.contentType(typeId);
    const rel = safeRelativePath(relativePath, 'unit file name');
    const target = resolveInside(path.join(this.scope.scopeDir, 'units'), `${typeId}/${rel}`, 'unit file name');
    await mkdir(path.dirname(target), { recursive: true });
    return target;
  }

  async addOrUpdateUnits(units: readonly UnitInput[]): Promise<UnitRef[]> {
    const refs: UnitRef[] = [];
    for (const chunk of chunks(units, this.batchSize)) refs.push(...(await this.upsertChunk(chunk)));
    return refs;
  }

  async associateUnits(refs: readonly UnitRef[]): Promise<void> {
    return this.associateUnitsFrom(refs);
  }

  /**
   * {@link associateUnits}, recording with each unit the upstream record it was built from
   * (`sources[i]`, DeclarativeContentInit.source), where the store keeps provenance: a later sync
   * meeting the same record under the same settings skips the unit while nothing rewrote it.
   */
  async associateUnitsFrom(refs: readonly UnitRef[], sources?: readonly (string | undefined)[]): Promise<void> {
    const recording = sources !== undefined && this.recordsSources;
    for (let start = 0; start < refs.length; start += this.batchSize) {
      this.checkAborted();
      const rows = [];
      for (let i = start; i < Math.min(refs.length, start + this.batchSize); i++) {
        const { unitId, typeId, key } = refs[i]!;
        const source = recording ? sources[i] : undefined;
        rows.push(source === undefined ? { unitId, typeId, key } : { unitId, typeId, key, source: this.sources.digest(source) });
      }
      const added = await this.store.associate(this.repositoryId, this.scope.version, rows, 'sync');
      this.scope.report.addAdded(added);
    }
  }

  async unassociateUnits(typeId: string, keys: readonly UnitKey[]): Promise<number> {
    const type = this.registry.contentType(typeId);
    let removed = 0;
    for (const chunk of chunks(keys, this.batchSize)) {
      this.checkAborted();
      const ids = chunk.map((key) => this.unitIdOf(typeId, key, type));
      const counts = await this.store.unassociate(this.repositoryId, this.scope.version, ids);
      this.scope.report.addRemoved(counts);
      removed += sum(counts);
    }
    return removed;
  }

  async saveUnits(units: readonly UnitInput[]): Promise<UnitRef[]> {
    const refs: UnitRef[] = [];
    for (const chunk of chunks(units, this.batchSize)) {
      const chunkRefs = await this.upsertChunk(chunk);
      await this.associateUnits(chunkRefs);
      refs.push(...chunkRefs);
    }
    return refs;
  }

  async findUnits(typeId: string, keys: readonly UnitKey[]): Promise<ExistingUnit[]> {
    const type = this.registry.contentType(typeId);
    const found: ExistingUnit[] = [];
    for (const chunk of chunks(keys, this.batchSize)) {
      this.checkAborted();
      found.push(...(await this.store.findUnits(chunk.map((key) => this.unitIdOf(typeId, key, type)))));
    }
    return found;
  }

  /**
   * {@link findUnits} answered key by key (the pipeline's UnitsByKeyLookup): the stored unit of each
   * key, in order, or undefined. Found units are matched to keys by the unit ids computed for them.
   */
  async findUnitsByKey(typeId: string, keys: readonly UnitKey[]): Promise<(ExistingUnit | undefined)[]> {
    const type = this.registry.contentType(typeId);
    const answers: (ExistingUnit | undefined)[] = new Array<ExistingUnit | undefined>(keys.length).fill(undefined);
    for (let start = 0; start < keys.length; start += this.batchSize) {
      this.checkAborted();
      const ids: string[] = [];
      for (let i = start; i < Math.min(keys.length, start + this.batchSize); i++) ids.push(this.unitIdOf(typeId, keys[i]!, type));
      const found = await this.store.findUnits(ids);
      if (found.length === 0) continue;
      const byId = new Map<string, ExistingUnit>();
      for (const unit of found) byId.set(unit.unitId, unit);
      for (let i = 0; i < ids.length; i++) answers[start + i] = byId.get(ids[i]!);
    }
    return answers;
  }

  async findArtifacts(algorithm: DigestAlgorithm, digests: readonly string[]): Promise<ArtifactRecord[]> {
    const found: ArtifactRecord[] = [];
    for (const chunk of chunks(digests.map((d) => d.toLowerCase()), this.batchSize)) {
      this.checkAborted();
      found.push(...(await this.store.findArtifacts(algorithm, chunk)));
    }
    return found;
  }

  async saveArtifacts(files: readonly DownloadedFile[]): Promise<ArtifactRecord[]> {
    const saved: ArtifactRecord[] = [];
    for (const chunk of chunks(files, this.batchSize)) {
      this.checkAborted();
      for (const file of chunk) this.checkOwnTempFile(file.path);
      // renames are independent: overlap their file-system round trips
      const records: ArtifactRecord[] = new Array(chunk.length);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < chunk.length; i = next++) records[i] = await this.storage.adoptDownloaded(chunk[i]!);
      };
      await Promise.all(Array.from({ length: Math.min(ADOPT_CONCURRENCY, chunk.length) }, worker));
      await this.store.upsertArtifacts(records);
      saved.push(...records);
    }
    return saved;
  }

  async saveRemoteArtifacts(remotes: readonly RemoteArtifactInput[]): Promise<void> {
    for (const chunk of chunks(remotes, this.batchSize)) {
      this.checkAborted();
      await this.store.upsertRemoteArtifacts(chunk.map((r) => this.remoteRecord(r.unitId, r.relativePath, r)));
    }
  }

  async unassociateUnseen(options: { includeUserAdded?: boolean } = {}): Promise<Record<string, number>> {
    this.checkAborted();
    // what is unseen is only known once every kept unit's mark is written
    await this.keptSeen();
    const counts = await this.store.unassociateUnseen(this.repositoryId, this.scope.version, options.includeUserAdded ?? false);
    this.scope.report.addRemoved(counts);
    return counts;
  }

  /**
   * The host's side of the pipeline's UnchangedLookup: for each unit, its ref when the repository's
   * base version holds it exactly as writing it now would store it (same metadata, files and this
   * remote's sources: equal row fingerprints, see unit-fingerprint.ts), so the sync can skip it;
   * otherwise undefined. Units are checked as writing them would check them (metadata schema,
   * paths, digests, urls), so skipping hides no error. Units handing over a downloaded `file` are
   * never unchanged. The base version's fingerprints are read once (from {@link readBaseAhead} or
   * the first call), and only units whose id is among them are fingerprinted; with a store that
   * cannot fingerprint, nothing is unchanged.
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
        const unitId = this.unitIdOf(unit.typeId, unit.key);
        if (!index.hasUnit(unitIdKey(unitId))) continue;
        if ((unit.artifacts ?? NO_ARTIFACTS).some((artifact) => artifact.file !== undefined)) continue;
        writes.push(this.unitWrite(unit, unitId));
        positions.push(i);
      }
      if (writes.length === 0) continue;
      const fingerprints = this.store.unitFingerprints!(writes);
      writes.forEach((write, k) => {
        const row = index.contentRowOf(fingerprints, k * FINGERPRINT_FIELDS);
        if (row < 0) return;
        answers[positions[k]!] = { unitId: write.unitId, typeId: write.typeId, key: write.key };
        // the row is what this content writes: from now on it is known by its source too
        const source = this.recordsSources ? sources?.[positions[k]!] : undefined;
        this.unmarked.push(
          source === undefined ? { unitId: write.unitId, contentRow: row } : { unitId: write.unitId, contentRow: row, source: this.sources.digest(source) },
        );
      });
    }
    return answers;
  }

  /**
   * Marks what {@link findUnchanged} found since the last call seen by the version being written,
   * as associating them would (they are present already): one store round trip per batch.
   */
  async markUnchangedSeen(): Promise<void> {
    const rows = this.unmarked;
    this.unmarked = [];
    for (const chunk of chunks(rows, this.batchSize)) {
      this.checkAborted();
      await this.store.markSeen!(this.repositoryId, this.scope.version, chunk);
    }
  }

  /**
   * The host's side of FirstStageContext.keepUnchanged: marks seen, in the version being written,
   * the base version's content rows recorded from these sources under this sync's settings whose
   * units nothing rewrote since, and says which sources it found. The marks are written while the
   * importer goes on (one batch in flight; a failure surfaces at the next call, or at
   * {@link keptSeen}). Nothing is kept when the pipeline does not skip unchanged content (a plugin
   * stage after QueryExistingContents must see all of it).
   */
  async keepUnchangedSources(sources: readonly string[]): Promise<boolean[]> {
    this.checkAborted();
    if (!this.baseWanted || !this.sources.supported) return new Array<boolean>(sources.length).fill(false);
    const rows = await this.sources.contentRows(sources);
    const seen: SeenUnit[] = [];
    const kept = rows.map((contentRow) => {
      if (contentRow < 0) return false;
      seen.push({ unitId: '', contentRow });
      return true;
    });
    for (const chunk of chunks(seen, this.batchSize)) {
      await this.keptMarks;
      this.keptMarks = this.store.markSeen!(this.repositoryId, this.scope.version, chunk);
      this.keptMarks.catch(() => undefined); // surfaces where it is awaited
    }
    return kept;
  }

  /** Resolves once every seen mark {@link keepUnchangedSources} started is written. */
  keptSeen(): Promise<void> {
    return this.keptMarks;
  }

  /** Whether the base version has recorded sources to find content by (see {@link findUnchangedBySource}). */
  async hasRecordedSources(): Promise<boolean> {
    return (await this.sources.table()).size > 0;
  }

  /**
   * The host's side of finding unchanged content by provenance: for each piece of content (by type,
   * key and the upstream record it was built from), its ref when the base version holds a row
   * recorded from the same record under the same settings and nothing rewrote the unit since;
   * otherwise undefined. Found rows are marked seen as {@link findUnchanged}'s are. The ref's unit
   * id is worked out only if somebody reads it (a future awaiting the unit, say).
   */
  async findUnchangedBySource(contents: readonly SourcedContent[]): Promise<(UnitRef | undefined)[]> {
    if (!this.sources.supported) return new Array<UnitRef | undefined>(contents.length).fill(undefined);
    const rows = await this.sources.contentRows(contents.map((content) => content.source));
    return contents.map(({ typeId, key }, i) => {
      const contentRow = rows[i]!;
      if (contentRow < 0) return undefined;
      // stores that record sources mark seen by content row
      this.unmarked.push({ unitId: '', contentRow });
      return new LazyUnitRef(typeId, key, this.unitIdRefs);
    });
  }

  doneFindingUnchanged(): void {
    this.baseWanted = false;
    this.sources.stop();
  }

  /**
   * Starts reading the base version's fingerprints now, ahead of the first {@link findUnchanged}:
   * the sync calls it once the importer has its upstream index and is going on (it did not finish
   * early), so the read overlaps with parsing that index. Failures surface at the first lookup.
   */
  readBaseAhead(): void {
    if (!this.baseWanted) return;
    // recorded sources first: when the base version has them, fingerprints are read only if some
    // content is not found by its source
    this.sources
      .table()
      .then((sources) => (sources.size === 0 ? this.baseIndex() : undefined))
      .catch(() => undefined);
  }

  async mayFindUnchanged(): Promise<boolean> {
    return (await this.sources.table()).size > 0 || (await this.baseIndex()).size > 0;
  }

  /** The base version's fingerprints, read on first use; empty without a base version or store support. */
  private baseIndex(): Promise<BaseVersionIndex> {
    this.base ??= (async () => {
      const index = new BaseVersionIndex();
      const store = this.store;
      if (this.scope.baseVersion < 1 || !store.repoUnitFingerprints || !store.unitFingerprints || !store.markSeen) return index;
      for await (const page of store.repoUnitFingerprints(this.repositoryId, this.scope.baseVersion, this.scope.remoteName)) {
        this.checkAborted();
        // a partial index is still right, only less useful: what it lacks goes the long way
        if (!this.baseWanted) break;
        index.addAll(page);
      }
      return index;
    })();
    return this.base;
  }

  /** One store round trip for the units and their remote sources (plus one for new artifacts). */
  private async upsertChunk(units: readonly UnitInput[]): Promise<UnitRef[]> {
    this.checkAborted();
    const writes: UnitWrite[] = [];
    const artifacts: ArtifactRecord[] = [];
    for (const unit of units) {
      const write = this.unitWrite(unit, this.unitIdOf(unit.typeId, unit.key));
      const given = unit.artifacts ?? NO_ARTIFACTS;
      for (let a = 0; a < given.length; a++) {
        const file = given[a]!.file;
        if (file === undefined) continue;
        const written = write.artifacts[a]!;
        this.checkOwnTempFile(file);
        const record = await this.storage.adoptFile(file, { size: given[a]!.size, digests: given[a]!.digests });
        if (written.sha256 !== null && written.sha256 !== record.sha256) {
          throw new TributaryError(
            ErrorCodes.DIGEST_MISMATCH,
            `artifact '${written.relativePath}' was declared with sha256 ${written.sha256} but the file has ${record.sha256}`,
          );
        }
        artifacts.push(record);
        written.sha256 = record.sha256;
      }
      writes.push(write);
    }
    if (artifacts.length > 0) await this.store.upsertArtifacts(artifacts);
    const statuses = await this.store.upsertUnits(writes);
    const updated: CountsByType = {};
    statuses.forEach((status, i) => {
      if (status === 'updated') updated[writes[i]!.typeId] = (updated[writes[i]!.typeId] ?? 0) + 1;
    });
    this.scope.report.addUpdated(updated);
    return writes.map((w) => ({ unitId: w.unitId, typeId: w.typeId, key: w.key }));
  }

  /**
   * The row a unit is written as, checked: metadata against its type's schema, artifact paths
   * (safe, none twice), digests and remote urls. An artifact's sha256 is the one given (lower-case)
   * or null; for an artifact handed over as `file`, the caller sets it once the file is adopted.
   */
  private unitWrite(unit: UnitInput, unitId: string): UnitWrite & { readonly artifacts: { relativePath: string; sha256: string | null }[] } {
    const text = unit.metadataJson;
    if (text !== undefined && (unit.metadata !== undefined || typeof text !== 'string')) {
      throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `a '${unit.typeId}' unit must give either metadata or metadataJson (a string), not both`, {
        details: { typeId: unit.typeId },
      });
    }
    // the object given as text lives only as long as this batch's write: it is checked, the text is stored
    const metadata = text !== undefined ? parseMetadataJson(text, unit.typeId, unit.key) : (unit.metadata ?? {});
    this.registry.validateMetadata(unit.typeId, metadata);
    const given = unit.artifacts ?? NO_ARTIFACTS;
    const unitArtifacts: { relativePath: string; sha256: string | null }[] = [];
    const remotes: Omit<RemoteArtifactRecord, 'unitId'>[] = [];
    // most units have one file: no set of paths to build for them
    const seenPaths = given.length > 1 ? new Set<string>() : undefined;
    for (const artifact of given) {
      const relativePath = safeRelativePath(artifact.relativePath, `artifact path of a '${unit.typeId}' unit`);
      if (seenPaths !== undefined) {
        if (seenPaths.has(relativePath)) {
          throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `a '${unit.typeId}' unit lists artifact '${relativePath}' twice`);
        }
        seenPaths.add(relativePath);
      }
      if (artifact.digests) validateDigests(artifact.digests, relativePath);
      unitArtifacts.push({ relativePath, sha256: artifact.sha256?.toLowerCase() ?? null });
      if (artifact.remote && artifact.remote.urls.length > 0) {
        remotes.push(this.remoteRecord(unitId, relativePath, artifact.remote));
      }
    }
    const write: { -readonly [K in keyof UnitWrite]: UnitWrite[K] } & { artifacts: typeof unitArtifacts } = {
      unitId,
      typeId: unit.typeId,
      key: unit.key,
      metadata,
      artifacts: unitArtifacts,
    };
    if (text !== undefined) write.metadataJson = text;
    if (remotes.length > 0) write.remotes = remotes;
    return write;
  }

  private remoteRecord(
    unitId: string,
    relativePath: string,
    remote: { urls: readonly string[]; size?: number; digests?: RemoteArtifactInput['digests'] },
  ): RemoteArtifactRecord {
    for (const url of remote.urls) this.remoteUrls.check(url);
    const digests = remote.digests ? validLowerCaseDigests(remote.digests, relativePath) : {};
    return {
      unitId,
      relativePath: safeRelativePath(relativePath, 'remote artifact path'),
      remote: this.scope.remoteName,
      urls: [...remote.urls],
      size: remote.size ?? null,
      digests,
    };
  }

  /** Only files inside this sync's scratch area may be adopted: a plugin cannot make the host move arbitrary files. */
  private checkOwnTempFile(file: string): void {
    const resolved = path.resolve(file);
    if (!resolved.startsWith(this.scope.scopeDir + path.sep) && !this.storage.isStagedFor(this.scope.syncId, resolved)) {
      throw new TributaryError(
        ErrorCodes.PATH_UNSAFE,
        `file ${JSON.stringify(file)} is outside this sync's storage area; write unit bytes to a path from requestUnitFilename() or use the fetcher`,
      );
    }
  }

  /**
   * The unit id of a key, remembered for recent key objects: a pipeline looks content up and then
   * saves it with the same key object, and hashing the canonical key is a measurable share of a sync.
   */
  private unitIdOf(typeId: string, key: UnitKey, type = this.registry.contentType(typeId)): string {
    const known = this.unitIds.get(typeId, key);
    if (known !== undefined) return known;
    const unitId = unitIdFor(typeId, canonicalUnitKey(type, key));
    this.unitIds.set(typeId, key, unitId);
    return unitId;
  }

  private checkAborted(): void {
    if (this.scope.signal.aborted) {
      throw new TributaryError(ErrorCodes.SYNC_CANCELLED, 'the sync was cancelled', { cause: this.scope.signal.reason });
    }
  }
}

/** Content as {@link RepoConduit.findUnchangedBySource} looks it up. */
export interface SourcedContent {
  readonly typeId: string;
  readonly key: UnitKey;
  readonly source: string;
}

/** A unit ref whose id is hashed from its key only when read (most are never read). */
class LazyUnitRef implements UnitRef {
  private id: string | undefined;

  constructor(
    readonly typeId: string,
    readonly key: UnitKey,
    private readonly conduit: { unitIdOf(typeId: string, key: UnitKey): string },
  ) {}

  get unitId(): string {
    return (this.id ??= this.conduit.unitIdOf(this.typeId, this.key));
  }

  toJSON(): UnitRef {
    return { unitId: this.unitId, typeId: this.typeId, key: this.key };
  }
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

function sum(counts: CountsByType): number {
  let total = 0;
  for (const n of Object.values(counts)) total += n;
  return total;
}

