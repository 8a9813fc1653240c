import { createHash } from 'node:crypto';
import {
  ErrorCodes,
  TributaryError,
  type PublishContext,
  type PublishedArtifact,
  type PublisherDefinition,
  type PublishUnit,
} from '@tributary/plugin-api';
import { RPM_PACKAGE, RPM_REPO_METADATA } from '../content-types.js';
import { storedRelativePath } from '../metadata/location.js';
import { openMetadata } from '../metadata/metadata-file.js';
import { readPrimaryXml } from '../metadata/primary-package-reader.js';
import { parseRepomd, type Repomd } from '../metadata/repomd.js';
import { REPOMD_PATH } from '../first-stage/repo-metadata-content.js';

export interface RpmPublishOptions {
  /** Where the repodata comes from: upstream's own files, kept by the sync. */
  readonly repodata: 'upstream';
  /** Cap on the decompressed size of primary when it is read to check the package set. */
  readonly maxMetadataBytes: number;
}

/** 2^128 - 1: the package-set digest is a sum of 128-bit hashes, order-free and duplicate-aware. */
const MASK = (1n << 128n) - 1n;

/**
 * Publishes an rpm repository version as a tree dnf installs from: the packages at the paths
 * their metadata names, and upstream's repodata (repomd.xml and the files it lists) as the sync
 * kept it. Upstream's repodata describes the version only if the version holds exactly the
 * packages its primary lists: that is checked (a streamed pass over primary, flat memory), and a
 * version that differs (packages kept from older syncs, removed or copied by hand) is
 * TRIBUTARY_ERR_PUBLICATION_MISMATCH rather than a tree dnf would choke on.
 */
export const rpmPublisher: PublisherDefinition<RpmPublishOptions> = {
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      repodata: { enum: ['upstream'], default: 'upstream', description: "where repodata comes from: 'upstream' (the files the sync kept)" },
      maxMetadataBytes: { type: 'integer', minimum: 1024, default: 2 * 1024 ** 3, description: 'cap on the decompressed size of primary when it is read' },
    },
  },
  async publish(ctx) {
    const metadata = await repoMetadataUnits(ctx);
    const chosen = await chooseRepomd(ctx, metadata);
    if (!chosen) {
      throw new TributaryError(ErrorCodes.PUBLICATION_MISMATCH, `version ${ctx.repository.version} of repository '${ctx.repository.name}' holds no repomd.xml to publish upstream's repodata from`, {
        details: { repository: ctx.repository.name, version: ctx.repository.version },
      });
    }
    const { repomd, unit: repomdUnit, files } = chosen;
    const primary = files.find((f) => f.record.type === 'primary');
    if (!primary) throw mismatch(ctx, 'its repomd.xml lists no primary');
    const listed = await primaryPackageSet(ctx, primary.record, primary.unit);
    const held = await versionPackageSet(ctx);
    if (listed.count !== held.count || listed.digest !== held.digest) {
      throw mismatch(ctx, `it holds ${held.count} packages and upstream's primary lists ${listed.count}${listed.count === held.count ? ' (others)' : ''}; publish it with generated repodata instead`);
    }
    await ctx.addArtifacts([{ path: REPOMD_PATH, artifact: repomdUnit.artifacts[0]! }, ...files.map((f) => ({ path: f.record.relativePath, artifact: f.unit.artifacts[0]! }))]);
    return { info: { repodata: 'upstream', revision: repomd.revision ?? null, packages: held.count, records: files.map((f) => f.record.type) } };
  },
};

interface ChosenRepomd {
  readonly repomd: Repomd;
  readonly unit: PublishUnit;
  readonly files: readonly { record: Repomd['records'][number]; unit: PublishUnit }[];
}

async function repoMetadataUnits(ctx: PublishContext<RpmPublishOptions>): Promise<PublishUnit[]> {
  const units: PublishUnit[] = [];
  for await (const batch of ctx.units({ typeId: RPM_REPO_METADATA })) units.push(...batch);
  return units;
}

/**
 * The repomd.xml the version's repodata comes from: of those whose every listed file the version
 * holds, the newest by revision (numeric when both are), then by newest record timestamp. A
 * version kept by additive syncs can hold several.
 */
async function chooseRepomd(ctx: PublishContext<RpmPublishOptions>, units: readonly PublishUnit[]): Promise<ChosenRepomd | undefined> {
  const byChecksum = new Map<string, PublishUnit>();
  for (const unit of units) byChecksum.set(`${String(unit.key['checksumType'])}:${String(unit.key['checksum'])}\0${String(unit.key['relativePath'])}`, unit);
  let best: (ChosenRepomd & { rank: [number, string, number] }) | undefined;
  for (const unit of units) {
    if (unit.key['dataType'] !== 'repomd') continue;
    const artifact = unit.artifacts[0];
    if (!artifact?.stored || artifact.sha256 === null) continue;
    const repomd = await parseRepomd(ctx.openArtifact(artifact.sha256), 'https://publish.invalid/');
    const files: { record: Repomd['records'][number]; unit: PublishUnit }[] = [];
    let complete = true;
    for (const record of repomd.records) {
      const held = byChecksum.get(`${record.checksumType}:${record.checksum}\0${record.relativePath}`);
      if (!held || !held.artifacts[0]?.stored) {
        complete = false;
        break;
      }
      files.push({ record, unit: held });
    }
    if (!complete) continue;
    const revision = repomd.revision ?? '';
    const rank: [number, string, number] = [/^\d+$/.test(revision) ? Number(revision) : -1, revision, Math.max(0, ...repomd.records.map((r) => r.timestamp ?? 0))];
    if (!best || compareRank(rank, best.rank) > 0) best = { repomd, unit, files, rank };
  }
  return best;
}

function compareRank(a: [number, string, number], b: [number, string, number]): number {
  if (a[0] !== b[0]) return a[0] - b[0];
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return a[2] - b[2];
}

interface PackageSet {
  readonly count: number;
  readonly digest: bigint;
}

function addToSet(set: { count: number; digest: bigint }, relativePath: string, checksum: string): void {
  const hash = createHash('sha256').update(relativePath).update('\0').update(checksum.toLowerCase()).digest();
  set.digest = (set.digest + hash.readBigUInt64BE(0) * (1n << 64n) + hash.readBigUInt64BE(8)) & MASK;
  set.count++;
}

async function primaryPackageSet(ctx: PublishContext<RpmPublishOptions>, record: Repomd['records'][number], unit: PublishUnit): Promise<PackageSet> {
  const set = { count: 0, digest: 0n };
  const source = `primary metadata ${record.href}`;
  const content = await openMetadata(
    { path: ctx.artifactPath(unit.artifacts[0]!.sha256!), href: record.href, type: 'primary', ...(record.openSize !== undefined ? { openSize: record.openSize } : {}), openDigests: record.openDigests },
    source,
    { maxBytes: ctx.options.maxMetadataBytes, signal: ctx.signal },
  );
  for await (const packages of readPrimaryXml(content.chunks, source)) {
    for (const p of packages) addToSet(set, storedRelativePath(p.location.href), p.checksum);
  }
  content.verify();
  return set;
}

async function versionPackageSet(ctx: PublishContext<RpmPublishOptions>): Promise<PackageSet> {
  const set = { count: 0, digest: 0n };
  for await (const units of ctx.units({ typeId: RPM_PACKAGE })) {
    const artifacts: PublishedArtifact[] = [];
    for (const unit of units) {
      const artifact = unit.artifacts[0];
      if (!artifact) continue;
      addToSet(set, artifact.relativePath, String(unit.key['checksum']));
      artifacts.push({ path: artifact.relativePath, artifact });
    }
    await ctx.addArtifacts(artifacts);
  }
  return set;
}

function mismatch(ctx: PublishContext<RpmPublishOptions>, why: string): TributaryError {
  return new TributaryError(
    ErrorCodes.PUBLICATION_MISMATCH,
    `version ${ctx.repository.version} of repository '${ctx.repository.name}' cannot be published with upstream's repodata: ${why}`,
    { details: { repository: ctx.repository.name, version: ctx.repository.version } },
  );
}

