import type {
  ArtifactRecord,
  DigestAlgorithm,
  Digests,
  ExistingUnit,
  RepoUnitKey,
  UnitInput,
  UnitKey,
  UnitRef,
} from './content.js';

/** A remote artifact: what an on-demand fetch of one of a unit's files will read from. */
export interface RemoteArtifactInput {
  readonly unitId: string;
  readonly relativePath: string;
  readonly urls: readonly string[];
  readonly size?: number;
  readonly digests?: Digests;
}

/** A downloaded file waiting in the sync's temporary area, to be adopted into storage. */
export interface DownloadedFile {
  /** Temporary path inside the host's storage area. */
  readonly path: string;
  readonly size: number;
  /** sha256 always; the other algorithms the expectation named. */
  readonly digests: Digests & { sha256: string };
}

/**
 * The repository-scoped door between an importer and the host. One conduit exists per sync and is
 * bound to the repository being synchronised, so no call names the repository.
 *
 * Every call takes or streams many units: call with arrays, never once per unit on a hot path.
 * Arrays of any length are accepted; the host splits them into store batches itself.
 */
export interface ImportConduit {
  readonly repositoryId: string;
  /** Per-repository scratch directory, removed when the repository is deleted. */
  readonly workingDir: string;
  /** Units per store round trip the host uses; a hint for plugins that buffer. */
  readonly batchSize: number;

  /** Streams type + key of every unit in the repository's latest version (optionally of one type). */
  unitKeysForRepo(typeId?: string): AsyncIterable<RepoUnitKey>;

  /**
   * A host-chosen path, inside the host's storage area and segregated by type, where the plugin
   * may write a unit's bytes before handing the path to `addOrUpdateUnits` as `file`.
   * Throws `TRIBUTARY_ERR_PATH_UNSAFE` for a path with `..`, an absolute path, NUL bytes, …
   */
  requestUnitFilename(typeId: string, relativePath: string): Promise<string>;

  /** Idempotent upsert by unit key. Does not touch the repository; see `associateUnits`. */
  addOrUpdateUnits(units: readonly UnitInput[]): Promise<UnitRef[]>;

  /** Adds units to the repository's in-progress version. */
  associateUnits(refs: readonly UnitRef[]): Promise<void>;

  /** Removes units from the in-progress version by unit key. Returns how many were removed. */
  unassociateUnits(typeId: string, keys: readonly UnitKey[]): Promise<number>;

  /** `addOrUpdateUnits` and `associateUnits` in one batched call. */
  saveUnits(units: readonly UnitInput[]): Promise<UnitRef[]>;

  // --- batched look-ups and writes the default pipeline stages are built from ---

  /** Existing units by type and key; keys not stored are absent from the result. */
  findUnits(typeId: string, keys: readonly UnitKey[]): Promise<ExistingUnit[]>;

  /** Stored artifacts whose digest of the given algorithm is among `digests`. */
  findArtifacts(algorithm: DigestAlgorithm, digests: readonly string[]): Promise<ArtifactRecord[]>;

  /** Moves downloaded files into content-addressed storage and records them. */
  saveArtifacts(files: readonly DownloadedFile[]): Promise<ArtifactRecord[]>;

  /** Records where on-demand fetches of units' files will read from. */
  saveRemoteArtifacts(remotes: readonly RemoteArtifactInput[]): Promise<void>;

  /**
   * Units of the latest committed version that the in-progress version has not (re)associated:
   * what a mirror sync removes. Units a user added are left out unless `includeUserAdded`.
   */
  unassociateUnseen(options?: { includeUserAdded?: boolean }): Promise<Record<string, number>>;
}
