import type { Digests, JsonSchema, UnitKey, UnitOrigin } from './content.js';

/**
 * A publisher lays out one repository version as a file tree (a publication): unit files at the
 * paths clients expect, plus the metadata files it generates (PULP_MANIFEST, repodata). The host
 * keeps the tree in the catalog and the generated files in artifact storage; `export` writes it
 * to a directory and the content app serves it. A plugin without a publisher gets the host's
 * default one: every unit file at its own relative path.
 *
 * Publishing runs on a committed version, which never changes, so the same version and options
 * must always publish the same tree: order output by something stable (unit key, path), never by
 * time.
 *
 * @example
 * ```ts
 * publisher: {
 *   async publish(ctx) {
 *     const lines: string[] = [];
 *     for await (const units of ctx.units({ typeId: 'notes.note' })) {
 *       await ctx.addArtifacts(units.flatMap((u) => u.artifacts.map((artifact) => ({ path: artifact.relativePath, artifact }))));
 *       for (const u of units) lines.push(String(u.key['title']));
 *     }
 *     await ctx.addFile('INDEX', lines.sort().join('\n') + '\n');
 *   },
 * }
 * ```
 */
export interface PublisherDefinition<Options = Record<string, unknown>> {
  /** JSON schema of the publish options (validated, defaults applied, before `publish`). */
  readonly optionsSchema?: JsonSchema;
  publish(ctx: PublishContext<Options>): Promise<PublishResult | void>;
}

/** What a publisher may hand back: facts worth keeping with the publication (shown by `publication list`). */
export interface PublishResult {
  readonly info?: Readonly<Record<string, unknown>>;
}

export interface PublishContext<Options = Record<string, unknown>> {
  readonly repository: { readonly name: string; readonly version: number };
  readonly options: Options;
  readonly signal: AbortSignal;
  readonly log: { info(message: string): void; warn(message: string): void };
  /** Scratch directory of this publication (removed afterwards). */
  readonly workingDir: string;
  /**
   * The version's units, a batch at a time (at most `batchSize`, default 1,000), ordered by type
   * and then in the store's stable order; of one type when `typeId` is given.
   */
  units(options?: { readonly typeId?: string; readonly batchSize?: number }): AsyncIterable<readonly PublishUnit[]>;
  /** How many units of each type the version holds (one catalog query, not a pass over the units). */
  countUnits(): Promise<Readonly<Record<string, number>>>;
  /**
   * Puts unit files into the tree. A path claimed twice keeps the first and counts a conflict.
   * Paths must be plain relative paths (TRIBUTARY_ERR_PATH_UNSAFE otherwise).
   */
  addArtifacts(entries: readonly PublishedArtifact[]): Promise<void>;
  /**
   * What the tree holds so far, in path order (UTF-8 byte order), a batch at a time: e.g. to write
   * an index of exactly the files that won their paths (a path claimed twice keeps the first).
   */
  published(options?: { readonly prefix?: string }): AsyncIterable<readonly PublishedEntry[]>;
  /**
   * Writes a generated file into storage and the tree, streamed and hashed (sha256, plus the
   * algorithms in `digests`), and returns its size and digests (for checksums in an index file).
   */
  addFile(path: string, content: string | Uint8Array | AsyncIterable<Uint8Array>, options?: { readonly digests?: readonly DigestName[] }): Promise<GeneratedFile>;
  /** Reads the stored bytes of an artifact (e.g. upstream metadata the publisher passes through or checks). */
  openArtifact(sha256: string): AsyncIterable<Buffer>;
  /**
   * The file holding an artifact's stored bytes, for readers that need a path (to detect a
   * compression, seek). Read it only: never write, move or delete it.
   */
  artifactPath(sha256: string): string;
}

export type DigestName = keyof Digests;

export interface PublishUnit {
  readonly unitId: string;
  readonly typeId: string;
  readonly key: UnitKey;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly origin: UnitOrigin;
  readonly artifacts: readonly PublishUnitArtifact[];
}

export interface PublishUnitArtifact {
  readonly unitId: string;
  readonly relativePath: string;
  /** sha256 of the bytes (stored, or the expected one of remote bytes); null if not known. */
  readonly sha256: string | null;
  readonly size: number | null;
  /** Whether the bytes are in storage; otherwise the content app fetches them on demand. */
  readonly stored: boolean;
  readonly digests: Digests;
  readonly remoteUrls: readonly string[];
}

export interface PublishedArtifact {
  /** Where the file appears in the tree. */
  readonly path: string;
  readonly artifact: PublishUnitArtifact;
}

/** A file of the tree, as {@link PublishContext.published} reads it back. */
export interface PublishedEntry {
  readonly path: string;
  readonly kind: 'artifact' | 'generated';
  readonly size: number | null;
  /** Expected digests of the bytes (sha256 whenever known). */
  readonly digests: Digests;
  readonly unitId: string | null;
}

export interface GeneratedFile {
  readonly path: string;
  readonly size: number;
  readonly digests: Digests & { readonly sha256: string };
}
