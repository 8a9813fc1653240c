import {
  DIGEST_ALGORITHMS,
  ErrorCodes,
  TributaryError,
  type DigestAlgorithm,
  type PublishContext,
  type PublisherDefinition,
  type PublishResult,
} from '@tributary/plugin-api';
import { REPOMD_PATH } from '../first-stage/repo-metadata-content.js';
import { generateRepodata } from './repodata-generator.js';
import { addPackageFiles, chooseRepomd, primaryPackageSet, repoMetadataUnits, versionPackageSet, type ChosenRepomd, type PackageSet } from './upstream-repodata.js';

export interface RpmPublishOptions {
  /**
   * Where the repodata comes from: `generate` writes it from the version's units, `upstream`
   * publishes upstream's files as the sync kept them (refused when they do not describe the
   * version), `auto` (default) takes upstream's when they describe the version and generates
   * otherwise.
   */
  readonly repodata: 'generate' | 'upstream' | 'auto';
  /** Checksum type of generated repodata's files (repomd.xml's records). Default sha256. */
  readonly checksumType: DigestAlgorithm;
  /**
   * Compression of generated XML: gz (default, as createrepo_c) or zstd. Node 20's zlib has no
   * zstd encoder: zstd comes from the optional native dependency zstd-napi, and where it did not
   * install, asking for it is TRIBUTARY_ERR_COMPRESSION_UNSUPPORTED.
   */
  readonly compression: 'gz' | 'zstd';
  /** Cap on the decompressed size of metadata read while publishing (upstream's primary, comps, modules). */
  readonly maxMetadataBytes: number;
}

/**
 * Publishes an rpm repository version as a tree dnf installs from: the packages at the paths
 * their metadata names, and repodata that describes exactly the version's packages.
 *
 * With `repodata: 'generate'` the repodata is written from the catalog (see generateRepodata):
 * right for any version, whatever made it (additive syncs, units removed or copied, filters,
 * rollback). With `upstream`, upstream's repomd.xml and files are passed through as the sync kept
 * them, which is right only while the version holds exactly the packages upstream's primary lists:
 * that is checked (a streamed pass over primary, flat memory), and a version that differs is
 * TRIBUTARY_ERR_PUBLICATION_MISMATCH. `auto` (the default) makes that check and generates when it
 * fails. The publication's info says which was done and why.
 */
export const rpmPublisher: PublisherDefinition<RpmPublishOptions> = {
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      repodata: {
        enum: ['auto', 'generate', 'upstream'],
        default: 'auto',
        description: "where repodata comes from: 'generate' (from the version's units), 'upstream' (the files the sync kept, when they describe the version), 'auto' (upstream's when they do, else generated)",
      },
      checksumType: { enum: [...DIGEST_ALGORITHMS], default: 'sha256', description: "checksum type of generated repodata's files" },
      compression: { enum: ['gz', 'zstd'], default: 'gz', description: "compression of generated XML files: 'gz' or 'zstd' (zstd needs the optional dependency zstd-napi)" },
      maxMetadataBytes: { type: 'integer', minimum: 1024, default: 2 * 1024 ** 3, description: 'cap on the decompressed size of metadata read while publishing' },
    },
  },
  async publish(ctx) {
    const mode = ctx.options.repodata ?? 'auto';
    const metadata = await repoMetadataUnits(ctx);
    const chosen = await chooseRepomd(ctx, metadata);
    if (mode === 'generate') return generated(ctx, metadata, chosen, 'asked for');
    if (!chosen) {
      const why = 'the version holds no complete upstream repodata (a repomd.xml and every file it lists)';
      if (mode === 'upstream') throw mismatch(ctx, why);
      return generated(ctx, metadata, chosen, why);
    }
    const listed = await primaryPackageSet(ctx, chosen);
    if (!listed) {
      const why = "upstream's repomd.xml lists no primary";
      if (mode === 'upstream') throw mismatch(ctx, why);
      return generated(ctx, metadata, chosen, why);
    }
    if (mode === 'upstream') {
      const held = await versionPackageSet(ctx, (units) => addPackageFiles(ctx, units));
      const why = difference(held, listed);
      if (why) throw mismatch(ctx, `${why}; publish it with generated repodata instead`);
      return upstream(ctx, chosen, held, mode);
    }
    const held = await versionPackageSet(ctx);
    const why = difference(held, listed);
    if (why) return generated(ctx, metadata, chosen, `upstream's repodata does not describe it: ${why}`);
    for await (const units of ctx.units({ typeId: 'rpm.package' })) await addPackageFiles(ctx, units);
    return upstream(ctx, chosen, held, mode);
  },
};

async function generated(ctx: PublishContext<RpmPublishOptions>, metadata: Parameters<typeof generateRepodata>[1], chosen: ChosenRepomd | undefined, reason: string): Promise<PublishResult> {
  const started = performance.now();
  const result = await generateRepodata(ctx, metadata, chosen);
  ctx.log.info(`repodata generated (${reason}): ${result.packages} packages, ${result.advisories} advisories in ${Math.round(performance.now() - started)} ms`);
  return {
    info: {
      repodata: 'generated',
      requested: ctx.options.repodata ?? 'auto',
      reason,
      revision: result.revision,
      packages: result.packages,
      advisories: result.advisories,
      advisoriesLeftOut: result.advisoriesLeftOut,
      records: result.records,
      checksumType: ctx.options.checksumType,
      compression: ctx.options.compression,
    },
  };
}

async function upstream(ctx: PublishContext<RpmPublishOptions>, chosen: ChosenRepomd, held: PackageSet, mode: string): Promise<PublishResult> {
  const { repomd, unit: repomdUnit, files } = chosen;
  await ctx.addArtifacts([{ path: REPOMD_PATH, artifact: repomdUnit.artifacts[0]! }, ...files.map((f) => ({ path: f.record.relativePath, artifact: f.unit.artifacts[0]! }))]);
  return { info: { repodata: 'upstream', requested: mode, revision: repomd.revision ?? null, packages: held.count, records: files.map((f) => f.record.type) } };
}

/** Why the version's packages are not those upstream's primary lists, or undefined when they are. */
function difference(held: PackageSet, listed: PackageSet): string | undefined {
  if (held.count === listed.count && held.digest === listed.digest) return undefined;
  return `it holds ${held.count} packages and upstream's primary lists ${listed.count}${listed.count === held.count ? ' (others)' : ''}`;
}

function mismatch(ctx: PublishContext<RpmPublishOptions>, why: string): TributaryError {
  return new TributaryError(
    ErrorCodes.PUBLICATION_MISMATCH,
    `version ${ctx.repository.version} of repository '${ctx.repository.name}' cannot be published with upstream's repodata: ${why}`,
    { details: { repository: ctx.repository.name, version: ctx.repository.version } },
  );
}
