import type {
  ArtifactRecord,
  DigestAlgorithm,
  DownloadedFile,
  ExistingUnit,
  ImportConduit,
  RemoteArtifactInput,
  RepoUnitKey,
  UnitInput,
  UnitKey,
  UnitRef,
} from '@tributary/plugin-api';

interface StoredUnit {
  readonly unitId: string;
  readonly typeId: string;
  readonly key: UnitKey;
  metadata: Readonly<Record<string, unknown>>;
  readonly artifacts: Map<string, string | null>;
}

/**
 * TEST DOUBLE of the ImportConduit: keeps units, artifacts, remote artifacts and one in-progress
 * repository version in maps, and counts calls, so stage tests run without a store. The real
 * RepoConduit over SQLite is exercised in pipeline-over-sqlite.test.ts.
 */
export class InMemoryConduit implements ImportConduit {
  readonly repositoryId = 'memory-repo';
  readonly workingDir = '/nonexistent/working';
  readonly batchSize = 1000;

  /** Calls per method name. */
  readonly calls: Record<string, number> = {};
  /** How many units each addOrUpdateUnits call carried. */
  readonly writtenPerCall: number[] = [];
  readonly units = new Map<string, StoredUnit>();
  readonly artifacts = new Map<string, ArtifactRecord>();
  readonly remotes = new Map<string, RemoteArtifactInput>();
  /** Unit ids of the last committed version. */
  committed = new Set<string>();
  /** Unit ids associated with the in-progress version. */
  readonly associated = new Set<string>();
  created = 0;
  updated = 0;
  removed = 0;

  static unitId(typeId: string, key: UnitKey): string {
    return `${typeId}:${JSON.stringify(Object.keys(key).sort().map((k) => [k, key[k]]))}`;
  }

  /** Starts a new in-progress version on top of what this one associated (a commit). */
  commit(): void {
    this.committed = new Set(this.associated);
    this.associated.clear();
  }

  async *unitKeysForRepo(typeId?: string): AsyncIterable<RepoUnitKey> {
    this.count('unitKeysForRepo');
    for (const id of this.committed) {
      const unit = this.units.get(id)!;
      if (typeId === undefined || unit.typeId === typeId) yield { unitId: id, typeId: unit.typeId, key: unit.key, origin: 'sync' };
    }
  }

  async requestUnitFilename(typeId: string, relativePath: string): Promise<string> {
    return `${this.workingDir}/${typeId}/${relativePath}`;
  }

  async addOrUpdateUnits(units: readonly UnitInput[]): Promise<UnitRef[]> {
    this.count('addOrUpdateUnits');
    this.writtenPerCall.push(units.length);
    return units.map((input) => {
      const unitId = InMemoryConduit.unitId(input.typeId, input.key);
      const artifacts = new Map<string, string | null>();
      for (const a of input.artifacts ?? []) {
        const sha256 = a.sha256 ?? (a.file !== undefined ? a.digests?.sha256 ?? null : null);
        artifacts.set(a.relativePath, sha256);
        if (a.remote) this.remotes.set(`${unitId}|${a.relativePath}`, { unitId, relativePath: a.relativePath, ...a.remote });
      }
      const stored = this.units.get(unitId);
      if (stored) {
        if (JSON.stringify(stored.metadata) !== JSON.stringify(input.metadata ?? {})) this.updated++;
        stored.metadata = input.metadata ?? {};
        for (const [path, sha] of artifacts) stored.artifacts.set(path, sha);
      } else {
        this.created++;
        this.units.set(unitId, { unitId, typeId: input.typeId, key: input.key, metadata: input.metadata ?? {}, artifacts });
      }
      return { unitId, typeId: input.typeId, key: input.key };
    });
  }

  async associateUnits(refs: readonly UnitRef[]): Promise<void> {
    this.count('associateUnits');
    for (const ref of refs) {
      if (!this.units.has(ref.unitId)) throw new Error(`associating unit ${ref.unitId} that was never stored`);
      this.associated.add(ref.unitId);
    }
  }

  async unassociateUnits(typeId: string, keys: readonly UnitKey[]): Promise<number> {
    this.count('unassociateUnits');
    let n = 0;
    for (const key of keys) if (this.associated.delete(InMemoryConduit.unitId(typeId, key))) n++;
    this.removed += n;
    return n;
  }

  async saveUnits(units: readonly UnitInput[]): Promise<UnitRef[]> {
    const refs = await this.addOrUpdateUnits(units);
    await this.associateUnits(refs);
    return refs;
  }

  async findUnits(typeId: string, keys: readonly UnitKey[]): Promise<ExistingUnit[]> {
    this.count('findUnits');
    const found: ExistingUnit[] = [];
    for (const key of keys) {
      const unit = this.units.get(InMemoryConduit.unitId(typeId, key));
      if (unit) {
        found.push({
          unitId: unit.unitId,
          typeId: unit.typeId,
          key: unit.key,
          metadata: structuredClone(unit.metadata),
          artifacts: [...unit.artifacts].map(([relativePath, sha256]) => ({ relativePath, sha256 })),
        });
      }
    }
    return found;
  }

  async findArtifacts(algorithm: DigestAlgorithm, digests: readonly string[]): Promise<ArtifactRecord[]> {
    this.count('findArtifacts');
    this.count(`findArtifacts:${algorithm}`);
    const wanted = new Set(digests);
    return [...this.artifacts.values()].filter((a) => wanted.has((algorithm === 'sha256' ? a.sha256 : a.digests[algorithm]) ?? ''));
  }

  async saveArtifacts(files: readonly DownloadedFile[]): Promise<ArtifactRecord[]> {
    this.count('saveArtifacts');
    return files.map((file) => {
      const record: ArtifactRecord = { sha256: file.digests.sha256, size: file.size, digests: { ...file.digests } };
      this.artifacts.set(record.sha256, record);
      return record;
    });
  }

  async saveRemoteArtifacts(remotes: readonly RemoteArtifactInput[]): Promise<void> {
    this.count('saveRemoteArtifacts');
    for (const r of remotes) this.remotes.set(`${r.unitId}|${r.relativePath}`, r);
  }

  async unassociateUnseen(): Promise<Record<string, number>> {
    this.count('unassociateUnseen');
    const counts: Record<string, number> = {};
    for (const id of this.committed) {
      if (this.associated.has(id)) continue;
      const typeId = this.units.get(id)!.typeId;
      counts[typeId] = (counts[typeId] ?? 0) + 1;
      this.removed++;
    }
    return counts;
  }

  /** Relative path → sha256 (or null while deferred) of a stored unit. */
  artifactsOf(typeId: string, key: UnitKey): Record<string, string | null> {
    return Object.fromEntries(this.units.get(InMemoryConduit.unitId(typeId, key))?.artifacts ?? []);
  }

  private count(name: string): void {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
  }
}
