import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type {
  DigestName,
  GeneratedFile,
  PublishContext,
  PublishedArtifact,
  PublishedEntry,
  PublishUnit,
} from '@tributary/plugin-api';
import type { ArtifactStorage } from '../storage/artifact-storage.js';
import { safeRelativePath } from '../storage/safe-relative-path.js';
import { digestingPassThrough, StreamingDigests } from '../storage/streaming-digests.js';
import type { ContentStore, PublicationEntry, RepositoryRecord, RepoUnitView } from '../store/content-store.js';

const ENTRY_BATCH = 1000;
const DEFAULT_UNIT_BATCH = 1000;

/**
 * The {@link PublishContext} a publisher writes through: entries go to the catalog in batches,
 * generated files are hashed while written to the publication's scratch scope and then moved into
 * storage (a rename, no second read).
 */
export class PublicationBuilder<Options> implements PublishContext<Options> {
  readonly repository: { readonly name: string; readonly version: number };
  private pending: PublicationEntry[] = [];
  files = 0;
  bytes = 0;
  conflicts = 0;

  constructor(
    private readonly store: ContentStore,
    private readonly storage: ArtifactStorage,
    private readonly record: RepositoryRecord,
    version: number,
    private readonly publicationId: string,
    private readonly scopeId: string,
    readonly options: Options,
    readonly signal: AbortSignal,
    readonly log: { info(message: string): void; warn(message: string): void },
    readonly workingDir: string,
  ) {
    this.repository = Object.freeze({ name: record.name, version });
  }

  async *units(options: { readonly typeId?: string; readonly batchSize?: number } = {}): AsyncIterable<readonly PublishUnit[]> {
    const size = Math.max(1, Math.min(options.batchSize ?? DEFAULT_UNIT_BATCH, 10_000));
    const types = options.typeId !== undefined ? [options.typeId] : await this.typesPresent();
    let batch: PublishUnit[] = [];
    for (const typeId of types) {
      for await (const unit of this.store.repoUnits(this.record.id, this.repository.version, { typeId, pageSize: size })) {
        batch.push(publishUnit(unit));
        if (batch.length >= size) {
          this.signal.throwIfAborted();
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
  }

  async addArtifacts(entries: readonly PublishedArtifact[]): Promise<void> {
    for (const { path, artifact } of entries) {
      const stored = artifact.stored && artifact.sha256 !== null;
      this.pending.push({
        path: safeRelativePath(path, 'published path'),
        kind: 'artifact',
        sha256: stored ? artifact.sha256 : null,
        size: artifact.size,
        digests: artifact.sha256 !== null ? { ...artifact.digests, sha256: artifact.sha256 } : { ...artifact.digests },
        urls: stored ? [] : [...artifact.remoteUrls],
        unitId: artifact.unitId,
      });
      if (this.pending.length >= ENTRY_BATCH) await this.flush();
    }
  }

  async addFile(
    path: string,
    content: string | Uint8Array | AsyncIterable<Uint8Array>,
    options: { readonly digests?: readonly DigestName[] } = {},
  ): Promise<GeneratedFile> {
    const checked = safeRelativePath(path, 'published path');
    const wanted: Record<string, string> = {};
    for (const name of options.digests ?? []) if (name !== 'sha256') wanted[name] = 'x';
    const digests = new StreamingDigests(wanted);
    const temp = this.storage.tempFilePath(this.scopeId, 'generated');
    const source = typeof content === 'string' || content instanceof Uint8Array ? Readable.from([Buffer.from(content)]) : Readable.from(content);
    try {
      await pipeline(source, digestingPassThrough(digests), createWriteStream(temp, { flags: 'wx' }), { signal: this.signal });
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    const computed = digests.digest();
    const record = await this.storage.adoptDownloaded({ path: temp, size: digests.size, digests: computed });
    await this.store.upsertArtifacts([record]);
    this.pending.push({ path: checked, kind: 'generated', sha256: record.sha256, size: record.size, digests: computed, urls: [], unitId: null });
    if (this.pending.length >= ENTRY_BATCH) await this.flush();
    return { path: checked, size: record.size, digests: computed };
  }

  /** Writes the entries still buffered. */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const added = await this.store.addPublicationEntries(this.publicationId, batch);
    this.conflicts += batch.length - added;
    this.files += added;
    for (const entry of batch) this.bytes += entry.size ?? 0;
  }

  async *published(options: { readonly prefix?: string } = {}): AsyncIterable<readonly PublishedEntry[]> {
    await this.flush();
    let after: string | undefined;
    for (;;) {
      const page = await this.store.listPublicationEntries(this.publicationId, {
        ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
        ...(after !== undefined ? { after } : {}),
        limit: ENTRY_BATCH,
      });
      if (page.length === 0) return;
      after = page[page.length - 1]!.path;
      this.signal.throwIfAborted();
      yield page.map((e) => ({ path: e.path, kind: e.kind, size: e.size, digests: e.sha256 !== null ? { ...e.digests, sha256: e.sha256 } : e.digests, unitId: e.unitId }));
    }
  }

  countUnits(): Promise<Readonly<Record<string, number>>> {
    return this.store.countRepoUnits(this.record.id, this.repository.version);
  }

  openArtifact(sha256: string): AsyncIterable<Buffer> {
    return createReadStream(this.storage.pathFor(sha256), { highWaterMark: 256 * 1024 });
  }

  artifactPath(sha256: string): string {
    return this.storage.pathFor(sha256);
  }

  private async typesPresent(): Promise<string[]> {
    const counts = await this.store.countRepoUnits(this.record.id, this.repository.version);
    return Object.keys(counts)
      .filter((t) => counts[t]! > 0)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

function publishUnit(unit: RepoUnitView): PublishUnit {
  return {
    unitId: unit.unitId,
    typeId: unit.typeId,
    key: unit.key,
    metadata: unit.metadata,
    origin: unit.origin,
    artifacts: unit.artifacts.map((a) => ({
      unitId: unit.unitId,
      relativePath: a.relativePath,
      sha256: a.sha256,
      size: a.size,
      stored: a.stored,
      digests: a.digests,
      remoteUrls: a.remoteUrls,
    })),
  };
}

