import type { DigestAlgorithm, PublishContext, PublishedArtifact, PublishUnit } from '@tributary/plugin-api';
import { RPM_ADVISORY, RPM_PACKAGE } from '../content-types.js';
import { NevraSet } from '../first-stage/nevra-set.js';
import type { Nevra } from '../metadata/primary-package.js';
import { packageXml } from './package-xml.js';
import { publishPassedThrough } from './passed-through-metadata.js';
import { RepodataDocument, type RepodataCompression, type RepodataRecord } from './repodata-document.js';
import { repomdXml } from './repomd-xml.js';
import { UPDATEINFO_FOOTER, UPDATEINFO_HEADER, updateXml } from './updateinfo-xml.js';
import type { ChosenRepomd } from './upstream-repodata.js';
import { REPOMD_PATH } from '../first-stage/repo-metadata-content.js';
import { zstdBindingPath } from './zstd-encoder.js';

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
/** Units read from the catalog at a time: small pages die young (at 1,000 the garbage collector took twice as long). */
const BATCH = 100;

export interface GenerateRepodataOptions {
  readonly checksumType: DigestAlgorithm;
  readonly compression?: RepodataCompression;
  readonly maxMetadataBytes: number;
}

/** What generating repodata found, for the publication's info. */
export interface GeneratedRepodata {
  readonly revision: string;
  readonly packages: number;
  readonly advisories: number;
  readonly advisoriesLeftOut: number;
  readonly records: readonly string[];
}

/**
 * Writes the version's repodata as createrepo_c would for the same packages: primary, filelists
 * and other from its `rpm.package` units in one pass (the store's stable order, so the same
 * version always gives the same bytes), updateinfo from its advisories (only those listing a
 * package the version holds, listing only those), comps and modules passed through, and
 * repomd.xml. The package files go into the tree at the paths primary names.
 *
 * Nothing comes from the clock: the revision is the version number, and each generated record's
 * timestamp the newest package file time (passed-through records keep upstream's).
 */
export async function generateRepodata(
  ctx: PublishContext<GenerateRepodataOptions>,
  metadataUnits: readonly PublishUnit[],
  chosen: ChosenRepomd | undefined,
): Promise<GeneratedRepodata> {
  const { checksumType } = ctx.options;
  const compression = ctx.options.compression ?? 'gz';
  // a zstd encoder that cannot load is a typed error before anything is generated
  const zstdBinding = compression === 'zstd' ? zstdBindingPath() : undefined;
  // The root elements name the package count. Known before the first package (the catalog's count),
  // gz documents hash their open-checksum as they are written and keep no uncompressed copy; a
  // package left out (no file, a path taken) makes the count wrong, and the rare version with one
  // is generated again with the count found.
  let expected: number | undefined = compression === 'gz' ? ((await ctx.countUnits())[RPM_PACKAGE] ?? 0) : undefined;
  let pass = await writeDocuments(ctx, compression, zstdBinding, expected, true);
  if (expected !== undefined && pass.packages !== expected) {
    await pass.discard();
    expected = pass.packages;
    pass = await writeDocuments(ctx, compression, zstdBinding, expected, false);
  }
  const { documents, updateinfo, packages, newest, advisories, advisoriesLeftOut } = pass;
  const header = rootElements(packages);
  const written = await Promise.all([
    documents.primary.publish(ctx, header.primary, '</metadata>', 'primary.xml', checksumType, newest),
    documents.filelists.publish(ctx, header.filelists, '</filelists>', 'filelists.xml', checksumType, newest),
    documents.other.publish(ctx, header.other, '</otherdata>', 'other.xml', checksumType, newest),
    ...(updateinfo ? [updateinfo.publish(ctx, UPDATEINFO_HEADER, UPDATEINFO_FOOTER, 'updateinfo.xml', checksumType, newest)] : []),
  ]);
  const records: RepodataRecord[] = [...written, ...(await publishPassedThrough(ctx, metadataUnits, chosen, checksumType))];
  const revision = String(ctx.repository.version);
  await ctx.addFile(REPOMD_PATH, repomdXml(revision, records));
  if (advisoriesLeftOut > 0) ctx.log.info(`${advisoriesLeftOut} advisories list no package of this version and are left out of updateinfo`);
  return { revision, packages, advisories, advisoriesLeftOut, records: records.map((r) => r.type) };
}

/** The XML declaration and root element of primary, filelists and other for `packages` packages. */
function rootElements(packages: number): { primary: string; filelists: string; other: string } {
  const count = ` packages="${packages}">\n`;
  return {
    primary: `${XML_DECLARATION}<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm"${count}`,
    filelists: `${XML_DECLARATION}<filelists xmlns="http://linux.duke.edu/metadata/filelists"${count}`,
    other: `${XML_DECLARATION}<otherdata xmlns="http://linux.duke.edu/metadata/other"${count}`,
  };
}

interface WrittenDocuments {
  readonly documents: { readonly primary: RepodataDocument; readonly filelists: RepodataDocument; readonly other: RepodataDocument };
  readonly updateinfo: RepodataDocument | undefined;
  readonly packages: number;
  readonly newest: number;
  readonly advisories: number;
  readonly advisoriesLeftOut: number;
  discard(): Promise<void>;
}

/**
 * One pass over the version's packages and advisories: the documents' bodies written (and
 * compressed), and with `addFiles` the package files put into the tree and what was left out
 * logged. `expected`: the package count, when the root elements are known beforehand (gz).
 */
async function writeDocuments(
  ctx: PublishContext<GenerateRepodataOptions>,
  compression: RepodataCompression,
  zstdBinding: string | undefined,
  expected: number | undefined,
  addFiles: boolean,
): Promise<WrittenDocuments> {
  const { checksumType } = ctx.options;
  const header = expected === undefined ? undefined : rootElements(expected);
  const document = (type: string, known?: string) => new RepodataDocument(ctx.workingDir, type, { compression, zstdBinding, checksumType, header: known });
  const documents = { primary: document('primary', header?.primary), filelists: document('filelists', header?.filelists), other: document('other', header?.other) };
  let updateinfo: RepodataDocument | undefined;
  const discard = async () => void (await Promise.all([...Object.values(documents), updateinfo].map((d) => d?.discard())));
  const present = new NevraSet();
  let packages = 0;
  let newest = 0;
  let withoutFile = 0;
  // two packages at one path (copied in from repositories that named files alike) cannot both be served
  const paths = new Set<string>();
  let samePath = 0;
  let recordedBefore = 0;
  let advisories = 0;
  let advisoriesLeftOut = 0;
  try {
    for await (const units of ctx.units({ typeId: RPM_PACKAGE, batchSize: BATCH })) {
      const artifacts: PublishedArtifact[] = [];
      for (const unit of units) {
        const artifact = unit.artifacts[0];
        if (!artifact) {
          withoutFile++;
          continue;
        }
        if (paths.has(artifact.relativePath)) {
          samePath++;
          continue;
        }
        paths.add(artifact.relativePath);
        artifacts.push({ path: artifact.relativePath, artifact });
        const xml = packageXml(unit, artifact.relativePath);
        const pending = [documents.primary.write(xml.primary), documents.filelists.write(xml.filelists), documents.other.write(xml.other)];
        if (pending[0] || pending[1] || pending[2]) await Promise.all(pending);
        present.add(unit.key as unknown as Nevra);
        const time = (unit.metadata['time'] as { file?: number } | undefined)?.file;
        if (typeof time === 'number' && time > newest) newest = time;
        if (!('files' in unit.metadata)) recordedBefore++;
        packages++;
      }
      if (addFiles) await ctx.addArtifacts(artifacts);
    }
    for await (const units of ctx.units({ typeId: RPM_ADVISORY, batchSize: BATCH })) {
      for (const unit of units) {
        const xml = updateXml(unit, (nevra) => present.has(nevra));
        if (xml === undefined) {
          advisoriesLeftOut++;
          continue;
        }
        updateinfo ??= document('updateinfo', compression === 'gz' ? UPDATEINFO_HEADER : undefined);
        const pending = updateinfo.write(xml);
        if (pending) await pending;
        advisories++;
      }
    }
    await Promise.all([documents.primary.end(), documents.filelists.end(), documents.other.end(), updateinfo?.end()]);
  } catch (error) {
    await discard();
    throw error;
  }
  if (addFiles) {
    if (withoutFile > 0) ctx.log.warn(`${withoutFile} package unit(s) have no file and are left out`);
    if (samePath > 0) ctx.log.warn(`${samePath} package unit(s) have the path of a package listed before them and are left out (one file per path can be served)`);
    if (recordedBefore > 0) {
      ctx.log.warn(`${recordedBefore} package(s) were synced before their files and changelogs were recorded: their entries have no files, no changelogs and dependencies by name only; sync again with --force to record them`);
    }
  }
  return { documents, updateinfo, packages, newest, advisories, advisoriesLeftOut, discard };
}
