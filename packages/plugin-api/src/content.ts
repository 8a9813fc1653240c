/** A unit key: the natural key of a unit within its content type. Values are strings or integers. */
export type UnitKey = Readonly<Record<string, string | number>>;

/** Digest algorithms Tributary verifies. sha256 is always computed; the others when upstream gives them. */
export type DigestAlgorithm = 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'];
export const DIGEST_HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = {
  md5: 32,
  sha1: 40,
  sha224: 56,
  sha256: 64,
  sha384: 96,
  sha512: 128,
};
export type Digests = Partial<Record<DigestAlgorithm, string>>;

/** How a unit came into a repository version: through a sync, or put there by a user. */
export type UnitOrigin = 'sync' | 'user';

/** Download policy of a sync. */
export type DownloadPolicy = 'immediate' | 'on_demand';

/** A JSON schema (draft 2020-12 or draft-07 as ajv reads it). */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** A content type a plugin contributes. */
export interface ContentTypeDefinition {
  /** Globally unique id, conventionally `<plugin>.<kind>` (`rpm.package`) or a plain word (`file`). */
  readonly id: string;
  /** The fields of the unit key, in canonical order. Every unit of the type carries exactly these. */
  readonly keyFields: readonly string[];
  /** Optional JSON schema units' metadata must satisfy. */
  readonly metadataSchema?: JsonSchema;
  readonly description?: string;
}

/** Where the bytes of one of a unit's files come from when they are not (yet) stored. */
export interface RemoteSource {
  /** One url, or several tried in turn. */
  readonly urls: readonly string[];
  readonly size?: number;
  readonly digests?: Digests;
}

/** One file of a unit, as handed to the conduit. */
export interface UnitArtifactInput {
  /** Path of the file inside the repository (`Packages/a/abc.rpm`); validated like any path. */
  readonly relativePath: string;
  /**
   * A file the plugin wrote (normally at a path from `requestUnitFilename`); the host hashes it,
   * moves it into content-addressed storage and records it.
   */
  readonly file?: string;
  /** Bytes already in storage, referenced by their sha256 (as stages do after ArtifactSaver). */
  readonly sha256?: string;
  /** Expected size; checked when `file` is given. */
  readonly size?: number;
  /** Expected digests; checked when `file` is given. */
  readonly digests?: Digests;
  /** Where to fetch the bytes later (on-demand); recorded as a remote artifact. */
  readonly remote?: RemoteSource;
}

/** A unit as a plugin hands it to `addOrUpdateUnits` or `saveUnits`. */
export interface UnitInput {
  readonly typeId: string;
  readonly key: UnitKey;
  readonly metadata?: Readonly<Record<string, unknown>>;
  /**
   * The metadata as JSON text instead of `metadata` (see `DeclarativeContentInit.metadataJson`):
   * checked, then stored as it is.
   */
  readonly metadataJson?: string;
  readonly artifacts?: readonly UnitArtifactInput[];
}

/** What the host returns for a unit it stored: enough to associate it. */
export interface UnitRef {
  /** Deterministic: the same type and key always give the same id, on every host. */
  readonly unitId: string;
  readonly typeId: string;
  readonly key: UnitKey;
}

/** One unit of a repository's current version, as `unitKeysForRepo` streams it. */
export interface RepoUnitKey extends UnitRef {
  readonly origin: UnitOrigin;
}

/** A stored file's identity. */
export interface ArtifactRecord {
  readonly sha256: string;
  readonly size: number;
  readonly digests: Digests;
}

/** A unit as a stage looks it up: stored metadata and its files. */
export interface ExistingUnit extends UnitRef {
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly artifacts: readonly { relativePath: string; sha256: string | null }[];
  /**
   * Where the unit's files can be fetched from, per upstream, when the store returns it with the
   * unit (the embedded store does); absent when the store did not look. Lets a sync skip writing
   * remote sources that are already recorded as they are.
   */
  readonly remotes?: readonly ExistingRemoteSource[];
}

/** A recorded remote source of one of a unit's files. */
export interface ExistingRemoteSource {
  readonly relativePath: string;
  /** The upstream it belongs to (the repository's redacted feed url). */
  readonly remote: string;
  readonly urls: readonly string[];
  readonly size: number | null;
  /** Lower-case hex. */
  readonly digests: Digests;
}
