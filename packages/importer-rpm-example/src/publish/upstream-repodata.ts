import { createHash } from 'node:crypto';
import type { PublishContext, PublishUnit } from '@tributary/plugin-api';
import { RPM_PACKAGE, RPM_REPO_METADATA } from '../content-types.js';
import { storedRelativePath } from '../metadata/location.js';
import { openMetadata } from '../metadata/metadata-file.js';
import { readPrimaryXml } from '../metadata/primary-package-reader.js';
import { parseRepomd, type Repomd } from '../metadata/repomd.js';

/** 2^128 - 1: the package-set digest is a sum of 128-bit hashes, order-free and duplicate-aware. */
const MASK = (1n << 128n) - 1n;

/** A repomd.xml unit of the version and the units of the files it lists. */
export interface ChosenRepomd {
  readonly repomd: Repomd;
  readonly unit: PublishUnit;
  readonly files: readonly { record: Repomd['records'][number]; unit: PublishUnit }[];
}

/** The version's `rpm.repo_metadata` units (a few per sync). */
export async function repoMetadataUnits(ctx: PublishContext<unknown>): Promise<PublishUnit[]> {
  const units: PublishUnit[] = [];
  for await (const batch of ctx.units({ typeId: RPM_REPO_METADATA })) units.push(...batch);
  return units;
}

/**
 * The repomd.xml the version's upstream repodata comes from: of those whose every listed file the
 * version holds (stored), the newest by revision (numeric when both are), then by newest record
 * timestamp. A version kept by additive syncs can hold several.
 */
export async function chooseRepomd(ctx: PublishContext<unknown>, units: readonly PublishUnit[]): Promise<ChosenRepomd | undefined> {
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

/** A set of packages as (relative path, pkgId) pairs: a count and an order-free digest. */
export interface PackageSet {
  count: number;
  digest: bigint;
}

function addToSet(set: PackageSet, relativePath: string, checksum: string): void {
  const hash = createHash('sha256').update(relativePath).update('\0').update(checksum.toLowerCase()).digest();
  set.digest = (set.digest + hash.readBigUInt64BE(0) * (1n << 64n) + hash.readBigUInt64BE(8)) & MASK;
  set.count++;
}

/** The packages upstream's primary lists (a streamed pass, flat memory). */
export async function primaryPackageSet(ctx: PublishContext<{ readonly maxMetadataBytes: number }>, chosen: ChosenRepomd): Promise<PackageSet | undefined> {
  const primary = chosen.files.find((f) => f.record.type === 'primary');
  if (!primary) return undefined;
  const { record, unit } = primary;
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

/** The packages the version holds, as the same pairs; `each` sees every batch (to publish its files). */
export async function versionPackageSet(ctx: PublishContext<unknown>, each?: (units: readonly PublishUnit[]) => Promise<void>): Promise<PackageSet> {
  const set = { count: 0, digest: 0n };
  for await (const units of ctx.units({ typeId: RPM_PACKAGE })) {
    for (const unit of units) {
      const artifact = unit.artifacts[0];
      if (artifact) addToSet(set, artifact.relativePath, String(unit.key['checksum']));
    }
    await each?.(units);
  }
  return set;
}

/** Publishes the package files at their relative paths (the locations primary names). */
export async function addPackageFiles(ctx: PublishContext<unknown>, units: readonly PublishUnit[]): Promise<void> {
  const artifacts = [];
  for (const unit of units) {
    const artifact = unit.artifacts[0];
    if (artifact) artifacts.push({ path: artifact.relativePath, artifact });
  }
  await ctx.addArtifacts(artifacts);
}
