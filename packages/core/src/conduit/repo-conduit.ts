import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { inject, injectable } from 'tsyringe';
import {
  ErrorCodes,
  TributaryError,
  type ArtifactRecord,
  type CountsByType,
  type DigestAlgorithm,
  type DownloadedFile,
  type ExistingUnit,
  type RemoteArtifactInput,
  type RepoUnitKey,
  type UnitInput,
  type UnitKey,
  type UnitRef,
} from '@tributary/plugin-api';
import { ArtifactStorage } from '../storage/artifact-storage.js';
import { resolveInside, safeRelativePath } from '../storage/safe-relative-path.js';
import type { ContentStore, UnitWrite } from '../store/content-store.js';
import { CONTENT_STORE, HOST_OPTIONS, type HostOptionsToken } from '../tokens.js';
import { EmissionIndex, emissionConflictError, type Emitter } from './emission-index.js';
import type { HostConduit } from './host-conduit.js';
import { SeenMarks } from './seen-marks.js';
import { sourceDigest } from './source-digest.js';
import { SYNC_SCOPE, type SyncScope } from './sync-scope.js';
import { UnitWrites, type CheckedUnitWrite } from './unit-writes.js';

const ADOPT_CONCURRENCY = 16;

const NO_ARTIFACTS: NonNullable<UnitInput['artifacts']> = [];

/** A conduit-style importer, in the words of the error refusing a duplicate (numbered as it saved them). */
const IMPORTER_SYNC: Emitter = {
  stage: 'sync',
  who: "the importer's sync()",
  verb: 'saved',
  noun: 'unit',
  numbering: 'numbered in the order handed to saveUnits() and addOrUpdateUnits()',
};

/**
 * The repository-scoped conduit a sync hands its importer (and the default stages): the declared
 * calls, each checked and split into store batches of `batchSize`; nothing is per unit. Units
 * become rows through {@link UnitWrites}; the re-sync shortcut lives beside it (ResyncService).
 */
@injectable()
export class RepoConduit implements HostConduit {
  readonly repositoryId: string;
  readonly workingDir: string;
  readonly batchSize: number;
  readonly remoteName: string;
  /** Whether what this sync associates gets its source recorded (the store keeps provenance). */
  private readonly recordsSources: boolean;
  /** What this sync saved, when its duplicates are checked ({@link checkEmissions}). */
  private emissions: { readonly index: EmissionIndex; readonly misbehaved: (error: TributaryError) => void } | undefined;
  /** The error that refused this sync's importer: every later call fails with it. */
  private refused: TributaryError | undefined;

  constructor(
    @inject(CONTENT_STORE) private readonly store: ContentStore,
    @inject(ArtifactStorage) private readonly storage: ArtifactStorage,
    @inject(HOST_OPTIONS) options: HostOptionsToken,
    @inject(SYNC_SCOPE) private readonly scope: SyncScope,
    @inject(UnitWrites) private readonly writes: UnitWrites,
    @inject(SeenMarks) private readonly marks: SeenMarks,
  ) {
    this.repositoryId = scope.repository.id;
    this.workingDir = scope.workingDir;
    this.batchSize = options.batchSize;
    this.remoteName = scope.remoteName;
    this.recordsSources = scope.sourceContext !== undefined && store.provenance !== undefined;
  }

  /**
   * From now on, checks what this sync saves as a first stage's output is checked: a unit key saved
   * again with other metadata or files, or one relative path saved for two keys, is
   * TRIBUTARY_ERR_PLUGIN_MISBEHAVED (the call throws it, `misbehaved` hears it, and every later
   * call throws it, so an importer that swallows it cannot go on). For a conduit-style importer's
   * sync only: a pipeline's stages save what its first stage's output has already checked.
   */
  checkEmissions(misbehaved: (error: TributaryError) => void): void {
    this.emissions = { index: new EmissionIndex(), misbehaved };
  }

  /** The error that refused this sync's importer ({@link checkEmissions}), if any. */
  get refusal(): TributaryError | undefined {
    return this.refused;
  }

  unitKeysForRepo(typeId?: string): AsyncIterable<RepoUnitKey> {
    if (typeId !== undefined) this.writes.contentType(typeId);
    return this.store.repoUnitKeys(this.repositoryId, this.scope.baseVersion, typeId);
  }

  async requestUnitFilename(typeId: string, relativePath: string): Promise<string> {
    this.writes.contentType(typeId);
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

  async associateUnitsFrom(refs: readonly UnitRef[], sources?: readonly (string | undefined)[]): Promise<void> {
    const recording = sources !== undefined && this.recordsSources;
    for (let start = 0; start < refs.length; start += this.batchSize) {
      this.checkAborted();
      const rows = [];
      for (let i = start; i < Math.min(refs.length, start + this.batchSize); i++) {
        const { unitId, typeId, key } = refs[i]!;
        const source = recording ? sources[i] : undefined;
        rows.push(source === undefined ? { unitId, typeId, key } : { unitId, typeId, key, source: sourceDigest(this.scope.sourceContext!, source) });
      }
      const added = await this.store.associate(this.repositoryId, this.scope.version, rows, 'sync');
      this.scope.report.addAdded(added);
    }
  }

  async unassociateUnits(typeId: string, keys: readonly UnitKey[]): Promise<number> {
    const type = this.writes.contentType(typeId);
    let removed = 0;
    for (const chunk of chunks(keys, this.batchSize)) {
      this.checkAborted();
      const ids = chunk.map((key) => this.writes.unitIdOf(typeId, key, type));
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
    const type = this.writes.contentType(typeId);
    const found: ExistingUnit[] = [];
    for (const chunk of chunks(keys, this.batchSize)) {
      this.checkAborted();
      found.push(...(await this.store.findUnits(chunk.map((key) => this.writes.unitIdOf(typeId, key, type)))));
    }
    return found;
  }

  async findUnitsByKey(typeId: string, keys: readonly UnitKey[]): Promise<(ExistingUnit | undefined)[]> {
    const type = this.writes.contentType(typeId);
    const answers: (ExistingUnit | undefined)[] = new Array<ExistingUnit | undefined>(keys.length).fill(undefined);
    for (let start = 0; start < keys.length; start += this.batchSize) {
      this.checkAborted();
      const ids: string[] = [];
      for (let i = start; i < Math.min(keys.length, start + this.batchSize); i++) ids.push(this.writes.unitIdOf(typeId, keys[i]!, type));
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
      await this.store.upsertRemoteArtifacts(chunk.map((r) => this.writes.remoteRecord(r.unitId, r.relativePath, r)));
    }
  }

  async unassociateUnseen(options: { includeUserAdded?: boolean } = {}): Promise<Record<string, number>> {
    this.checkAborted();
    // a sync that finished early keeps the version it started from: removing everything unseen
    // from a version that is then rolled back would only cost a write and an undo per unit
    if (this.scope.report.finishedEarly !== undefined) return {};
    // what is unseen is only known once every seen mark is written
    await this.marks.settled();
    const counts = await this.store.unassociateUnseen(this.repositoryId, this.scope.version, options.includeUserAdded ?? false);
    this.scope.report.addRemoved(counts);
    return counts;
  }

  /** One store round trip for the units and their remote sources (plus one for new artifacts). */
  private async upsertChunk(units: readonly UnitInput[]): Promise<UnitRef[]> {
    this.checkAborted();
    const writes: UnitWrite[] = [];
    const artifacts: ArtifactRecord[] = [];
    for (const unit of units) {
      const write = this.writes.write(unit, this.writes.unitIdOf(unit.typeId, unit.key));
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
      // after its files are adopted: a file handed over without a digest is known by its bytes
      if (this.emissions !== undefined) this.checkEmission(unit, write, given);
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

  /** Refuses `unit` when it clashes with a unit saved earlier in this sync (none of its batch reaches the store). */
  private checkEmission(unit: UnitInput, write: CheckedUnitWrite, given: NonNullable<UnitInput['artifacts']>): void {
    const { index, misbehaved } = this.emissions!;
    const conflict = index.recordUnit(write, given);
    if (conflict === undefined) return;
    this.refused = emissionConflictError(IMPORTER_SYNC, unit.typeId, unit.key, conflict);
    misbehaved(this.refused);
    throw this.refused;
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

  private checkAborted(): void {
    if (this.refused !== undefined) throw this.refused;
    if (this.scope.signal.aborted) {
      throw new TributaryError(ErrorCodes.SYNC_CANCELLED, 'the sync was cancelled', { cause: this.scope.signal.reason });
    }
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

