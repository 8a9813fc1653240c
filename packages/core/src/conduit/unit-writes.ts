import { inject, injectable } from 'tsyringe';
import {
  canonicalUnitKey,
  ErrorCodes,
  isTributaryError,
  parseMetadataJson,
  TributaryError,
  type ContentTypeDefinition,
  type RemoteArtifactInput,
  type UnitInput,
  type UnitKey,
} from '@tributary/plugin-api';
import { withoutCredentials } from '../download/url-credentials.js';
import { safeRelativePath } from '../storage/safe-relative-path.js';
import type { RemoteArtifactRecord, UnitWrite } from '../store/content-store.js';
import { unitIdFor } from '../store/unit-id.js';
import { PLUGINS, type PluginCatalog } from '../tokens.js';
import { validateDigests, validLowerCaseDigests } from './digests.js';
import { RecentUnitIds } from './recent-unit-ids.js';
import { RemoteUrlCheck } from './remote-url-check.js';
import { SYNC_SCOPE, type SyncScope } from './sync-scope.js';

/**
 * Keys per generation of remembered unit ids: default stages save content at most ~5,500 items
 * after looking it up (batches of 1,000 in four stages, the queues and the download window).
 */
const RECENT_UNIT_IDS = 8192;

const NO_ARTIFACTS: NonNullable<UnitInput['artifacts']> = [];

/** A {@link UnitWrite} whose artifacts' sha256 the conduit may still fill in (files handed over). */
export type CheckedUnitWrite = UnitWrite & { readonly artifacts: { relativePath: string; sha256: string | null }[] };

/**
 * How one sync turns units a plugin gives into the rows a store writes, checked: metadata against
 * its type's schema, artifact paths (safe, none twice), digests and remote urls. The conduit writes
 * these rows and the re-sync service fingerprints the same rows, so skipping a unit as unchanged
 * never hides an error writing it would have raised.
 */
@injectable()
export class UnitWrites {
  private readonly unitIds = new RecentUnitIds(RECENT_UNIT_IDS);
  /** `file:` artifact urls only when the feed is `file:` (remoteName is the redacted feed url). */
  private readonly remoteUrls: RemoteUrlCheck;

  constructor(
    @inject(PLUGINS) private readonly plugins: PluginCatalog,
    @inject(SYNC_SCOPE) private readonly scope: SyncScope,
  ) {
    this.remoteUrls = new RemoteUrlCheck(scope.remoteName);
  }

  /** The declared content type; TRIBUTARY_ERR_UNKNOWN_CONTENT_TYPE otherwise. */
  contentType(typeId: string): ContentTypeDefinition {
    return this.plugins.contentType(typeId);
  }

  /**
   * The unit id of a key, remembered for recent key objects: a pipeline looks content up and then
   * saves it with the same key object, and hashing the canonical key is a measurable share of a sync.
   */
  unitIdOf(typeId: string, key: UnitKey, type = this.plugins.contentType(typeId)): string {
    const known = this.unitIds.get(typeId, key);
    if (known !== undefined) return known;
    const unitId = unitIdFor(typeId, canonicalUnitKey(type, key));
    this.unitIds.set(typeId, key, unitId);
    return unitId;
  }

  /**
   * The row `unit` is written as. An artifact's sha256 is the one given (lower-case) or null; for
   * an artifact handed over as `file`, the caller sets it once the file is adopted.
   */
  write(unit: UnitInput, unitId: string): CheckedUnitWrite {
    const text = unit.metadataJson;
    if (text !== undefined && (unit.metadata !== undefined || typeof text !== 'string')) {
      throw new TributaryError(ErrorCodes.INVALID_ARGUMENT, `a '${unit.typeId}' unit must give either metadata or metadataJson (a string), not both`, {
        details: { typeId: unit.typeId },
      });
    }
    // the object given as text lives only as long as this batch's write: it is checked, the text is stored
    const metadata = text !== undefined ? parseMetadataJson(text, unit.typeId, unit.key) : (unit.metadata ?? {});
    try {
      this.plugins.validateMetadata(unit.typeId, metadata);
    } catch (error) {
      throw withUnitNamed(error, unit);
    }
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
        remotes.push(this.remoteRecord(unitId, relativePath, artifact.remote, () => `'${unit.typeId}' unit ${JSON.stringify(unit.key)}, artifact '${relativePath}'`));
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

  /** A remote artifact row stamped with this sync's remote, its urls and digests checked. */
  remoteRecord(
    unitId: string,
    relativePath: string,
    remote: { urls: readonly string[]; size?: number; digests?: RemoteArtifactInput['digests'] },
    owner: () => string = () => `artifact '${relativePath}' of unit ${unitId}`,
  ): RemoteArtifactRecord {
    for (const url of remote.urls) this.remoteUrls.check(url, owner);
    const digests = remote.digests ? validLowerCaseDigests(remote.digests, relativePath) : {};
    return {
      unitId,
      relativePath: safeRelativePath(relativePath, 'remote artifact path'),
      remote: this.scope.remoteName,
      // credentials stay in the remote options the caller passes, never in the catalog
      urls: remote.urls.map(withoutCredentials),
      size: remote.size ?? null,
      digests,
    };
  }
}

/** A metadata error naming the unit it is about (the schema's error names only the type). */
function withUnitNamed(error: unknown, unit: UnitInput): unknown {
  if (!isTributaryError(error) || error.code !== ErrorCodes.UNIT_METADATA_INVALID) return error;
  let key: string;
  try {
    key = JSON.stringify(unit.key);
  } catch {
    key = String(unit.key);
  }
  return new TributaryError(ErrorCodes.UNIT_METADATA_INVALID, error.message.replace(/^metadata of a '([^']*)' unit/, `metadata of '$1' unit ${key}`), {
    cause: error.cause,
    details: { ...(error.details ?? {}), typeId: unit.typeId, key: unit.key },
  });
}
