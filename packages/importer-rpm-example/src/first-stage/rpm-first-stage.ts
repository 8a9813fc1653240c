import { setImmediate as nextTurn } from 'node:timers/promises';
import { createReadStream } from 'node:fs';
import {
  DeclarativeContent,
  ErrorCodes,
  Stage,
  TributaryError,
  type DownloadedFile,
  type FirstStageContext,
  type UnitKey,
} from '@tributary/plugin-api';
import { withConfigDefaults, type RpmImporterConfig } from '../config.js';
import { RPM_ADVISORY, RPM_REPO_METADATA } from '../content-types.js';
import { displayUrl, repositoryBaseUrl } from '../metadata/location.js';
import type { MetadataFile } from '../metadata/metadata-file.js';
import type { PackageDetailsFiles } from '../metadata/package-details-reader.js';
import { readAdvisories } from '../metadata/metadata-items.js';
import { readAdvisoriesInThread, readPackageEntriesInThread, startMetadataThread, type StartedMetadataThread } from '../metadata/metadata-thread-reader.js';
import type { PackageEntry } from '../metadata/package-entry.js';
import { nevraOf } from '../metadata/primary-package.js';
import { parseRepomd, type RepomdRecord } from '../metadata/repomd.js';
import { advisoryMetadata } from '../metadata/updateinfo-advisory.js';
import { NameArchFilter } from '../selection/name-arch-filter.js';
import type { RetainedVersions } from '../selection/newest-versions.js';
import { readNewestVersions } from '../selection/newest-versions-reading.js';
import { ExclusionCounts, PackageSelection } from '../selection/package-selection.js';
import { AdvisoryPackageLinks } from './advisory-package-links.js';
import { NevraSet } from './nevra-set.js';
import { packageContent } from './package-content.js';
import { REPOMD_PATH, repoMetadataContent, repomdContent } from './repo-metadata-content.js';

/** repomd.xml is a few KiB; anything this large is not one. */
const REPOMD_MAX_BYTES = 16 * 1024 * 1024;
/** How many dropped duplicates the log names one by one. */
const DUPLICATES_LOGGED = 20;

/**
 * Metadata that decompresses to at most this many bytes in all (about 800 packages) is parsed on
 * the stage's own thread: starting a parsing thread (Node boots each worker and loads the parser
 * there) costs more CPU than the parse, which is cold on either thread.
 */
const PARSE_HERE_BYTES = 1024 * 1024;

/**
 * The `rpm` importer's first stage: repomd.xml → `rpm.package` units from primary, `rpm.advisory`
 * units from updateinfo (linked to the packages of the same sync through their futures), and one
 * `rpm.repo_metadata` unit per metadata file, so an exported version is a tree dnf installs from.
 *
 * Order of work, and why:
 * 1. repomd.xml is fetched; an unchanged one (same settings, not forced) finishes the sync early.
 * 2. primary, filelists, other (and updateinfo) are fetched with repomd's size and checksums, so
 *    the downloader verifies them before a byte is parsed. filelists and other are read with
 *    primary, on its thread, and what they say of each package goes into its unit (files,
 *    changelogs): repodata can then be generated for any version (see rpm-publisher.ts).
 * 3. With retainPackageVersions, primary is read once for the versions of each name.arch (see
 *    NewestVersions). updateinfo is read once for the NEVRAs advisories name (see
 *    AdvisoryPackageLinks), then primary streams into package units, then updateinfo again into
 *    advisories. Packages the filters leave out are never emitted, and advisories list none of them.
 * 4. Metadata units come last: the files already fetched are handed over, not fetched twice.
 *    Metadata units of the previous version that repomd.xml no longer lists are unassociated even
 *    without mirror, since an exported tree must hold one consistent set of metadata.
 */
export class RpmFirstStage extends Stage {
  private readonly config: RpmImporterConfig;
  private readonly baseUrl: string;
  private readonly nameArchFilter: NameArchFilter | undefined;
  /** Whether this sync's metadata is small enough to parse here (see PARSE_HERE_BYTES). */
  private parseHere = false;

  constructor(private readonly ctx: FirstStageContext<RpmImporterConfig>) {
    super('RpmFirstStage');
    this.config = withConfigDefaults(ctx.config);
    this.baseUrl = repositoryBaseUrl(ctx.settings.url);
    // the schema cannot tell a glob picomatch refuses: it fails here, before any request
    this.nameArchFilter = NameArchFilter.of(this.config);
  }

  override async run(): Promise<void> {
    const { log } = this.ctx;
    const repomdUrl = new URL(REPOMD_PATH, this.baseUrl).toString();
    const repomdFile = await this.ctx.fetcher.download(repomdUrl, { maxBytes: Math.min(REPOMD_MAX_BYTES, this.config.maxMetadataBytes) }, this.signal);
    if (this.ctx.finishEarlyIfUnchanged(repomdFile.digests.sha256, 'repomd.xml unchanged')) return;

    const repomd = await parseRepomd(createReadStream(repomdFile.path), this.baseUrl);
    const skipped = new Set(this.config.skipTypes);
    const records = uniqueRecords(repomd.records.filter((r) => !skipped.has(r.type)));
    log.info(`repomd.xml${repomd.revision ? ` revision ${repomd.revision}` : ''}: ${records.map((r) => r.type).join(', ')}${skipped.size ? ` (skipping ${[...skipped].join(', ')})` : ''}`);
    const primary = records.find((r) => r.type === 'primary');
    if (!primary) {
      throw new TributaryError(ErrorCodes.METADATA_MISSING, `repodata/repomd.xml at ${displayUrl(this.baseUrl)} lists no primary metadata; is the url the repository's base (the directory holding repodata/)?`, {
        details: { types: repomd.records.map((r) => r.type) },
      });
    }
    for (const type of duplicatedTypes(records)) log.warn(`repomd.xml lists several '${type}' records; the first one is parsed, all are kept`);
    const updateinfo = records.find((r) => r.type === 'updateinfo');

    // filelists and other are read with primary: what they say of each package is kept
    const filelists = records.find((r) => r.type === 'filelists');
    const other = records.find((r) => r.type === 'other');
    const parsed = [primary, filelists, other, updateinfo].filter((r): r is RepomdRecord => r !== undefined);
    // a record without open-size may be any size: the thread, as for a large one
    this.parseHere = parsed.every((r) => r.openSize !== undefined) && parsed.reduce((sum, r) => sum + r.openSize!, 0) <= PARSE_HERE_BYTES;
    // primary's parsing thread loads while primary downloads
    const primaryThread = this.parseHere ? undefined : startMetadataThread();
    const retaining = this.config.retainPackageVersions > 0;
    // with retention primary is read twice: the second reading's thread loads during the first
    let entriesThread = primaryThread;
    try {
      const fetched = new Map<RepomdRecord, DownloadedFile>();
      await Promise.all(parsed.map(async (record) => fetched.set(record, await this.fetchRecord(record))));
      const details: PackageDetailsFiles = {
        ...(filelists ? { filelists: this.metadataFile(filelists, fetched) } : {}),
        ...(other ? { other: this.metadataFile(other, fetched) } : {}),
        changelogLimit: this.config.changelogLimit,
      };
      if (!filelists || !other) log.info(`repomd.xml lists no ${[filelists ? '' : 'filelists', other ? '' : 'other'].filter(Boolean).join(' and ')}: packages keep the files primary lists${other ? '' : ' and no changelogs'}`);

      const primaryFile = this.metadataFile(primary, fetched);
      let retained: RetainedVersions | undefined;
      if (retaining) {
        entriesThread = this.parseHere ? undefined : startMetadataThread();
        retained = await this.retainedVersions(primaryFile, primaryThread);
      }
      const selection = new PackageSelection(this.nameArchFilter, retained);
      const links = new AdvisoryPackageLinks(this.config.maxLinkedPackages);
      if (updateinfo) await this.collectAdvisoryPackages(this.metadataFile(updateinfo, fetched), links, selection);
      // the first reading verified the open-checksum; the file has not changed since
      await this.emitPackages(retaining ? withoutOpenDigests(primaryFile) : primaryFile, links, entriesThread, selection, details);
      if (updateinfo) await this.emitAdvisories(this.metadataFile(updateinfo, fetched), links, selection);

      const keys: UnitKey[] = [];
      for (const record of records) {
        const content = repoMetadataContent(record, repomd.revision, fetched.get(record));
        keys.push(content.key);
        await this.put(content);
      }
      const repomdUnit = repomdContent(repomdUrl, repomdFile, repomd.revision);
      keys.push(repomdUnit.key);
      await this.put(repomdUnit);
      await this.unassociateStaleMetadata(keys);
    } finally {
      await primaryThread?.stop();
      if (entriesThread !== primaryThread) await entriesThread?.stop();
    }
  }

  private fetchRecord(record: RepomdRecord): Promise<DownloadedFile> {
    return this.ctx.fetcher.download(
      record.url,
      { ...(record.size !== undefined ? { size: record.size } : {}), digests: record.digests, maxBytes: this.config.maxMetadataBytes },
      this.signal,
    );
  }

  private metadataFile(record: RepomdRecord, fetched: ReadonlyMap<RepomdRecord, DownloadedFile>): MetadataFile {
    return {
      path: fetched.get(record)!.path,
      href: record.href,
      type: record.type,
      ...(record.openSize !== undefined ? { openSize: record.openSize } : {}),
      ...(Object.keys(record.openDigests).length > 0 ? { openDigests: record.openDigests } : {}),
    };
  }

  /** How every metadata file is read: bounded by config, stopped with the stage, what is wrong but harmless logged. */
  private get readOptions() {
    return { maxBytes: this.config.maxMetadataBytes, signal: this.signal, onWarning: (message: string) => this.ctx.log.warn(message), here: this.parseHere };
  }

  /** The first reading of primary, for retainPackageVersions (see readNewestVersions). */
  private async retainedVersions(file: MetadataFile, thread: StartedMetadataThread | undefined): Promise<RetainedVersions> {
    const count = this.config.retainPackageVersions;
    // no onWarning: what primary has wrong but harmless, the second reading logs
    const reading = await readNewestVersions(file, count, this.nameArchFilter, { maxBytes: this.config.maxMetadataBytes, signal: this.signal, here: this.parseHere, ...(thread ? { thread } : {}) });
    const { retained } = reading;
    this.ctx.log.info(
      `retainPackageVersions ${count}: primary read for versions first (${reading.packages} packages, ${reading.keys} name.arch, ${retained.trimmedKeys} with older versions left out) in ${Math.round(reading.milliseconds)} ms`,
    );
    return retained;
  }

  private async collectAdvisoryPackages(file: MetadataFile, links: AdvisoryPackageLinks, selection: PackageSelection): Promise<void> {
    // on this thread: nothing else runs until the pipeline gets its first package
    for await (const advisories of readAdvisories(file, this.readOptions)) {
      for (const advisory of advisories) for (const p of advisory.packages) if (selection.keeps(p)) links.want(p);
    }
    if (links.overflow > 0) {
      this.ctx.log.warn(`advisories name more than ${this.config.maxLinkedPackages} distinct packages (config maxLinkedPackages); ${links.overflow} of them are listed without a unit link`);
    }
  }

  private async emitPackages(
    file: MetadataFile,
    links: AdvisoryPackageLinks,
    thread: StartedMetadataThread | undefined,
    selection: PackageSelection,
    details: PackageDetailsFiles,
  ): Promise<void> {
    const source = `primary metadata ${file.href}`;
    // The only per-package state kept while primary streams: a hash per NEVRA, to drop duplicates.
    const seen = new NevraSet();
    const dropped: string[] = [];
    let droppedCount = 0;
    let emitted = 0;
    const baseUrl = this.baseUrl;
    const selecting = !selection.keepsEverything;
    const excluded = new ExclusionCounts();
    // content is built as the next queue takes it, and a batch is passed on awaiting only while that queue is full
    function* contentsOf(packages: readonly PackageEntry[]): Generator<DeclarativeContent> {
      for (const p of packages) {
        const { key } = p;
        if (selecting) {
          const exclusion = selection.exclusionOf(key);
          if (exclusion !== undefined) {
            excluded.add(exclusion);
            continue;
          }
        }
        if (!seen.add(key)) {
          droppedCount++;
          if (dropped.length < DUPLICATES_LOGGED) dropped.push(`${nevraOf(key)} (${key.checksumType}:${key.checksum.slice(0, 16)}…, line ${p.line})`);
          continue;
        }
        const content = packageContent(p, baseUrl, source);
        if (links.wantedCount > 0) links.offer(key, content);
        emitted++;
        yield content;
      }
    }
    // parsed on a thread of its own (unless small), while this one runs the pipeline on the batches before
    for await (const packages of readPackageEntriesInThread(file, { ...this.readOptions, details, ...(thread ? { thread } : {}) })) {
      await this.putAll(contentsOf(packages));
      // Read here, the chunks follow each other without a turn of the event loop: one lets the
      // stages after this one (catalog lookups, the first downloads) start while the rest is parsed.
      await nextTurn();
    }
    this.ctx.log.info(`primary: ${emitted} packages${excluded.total > 0 ? `; the filters left out ${excluded.total} (${excluded})` : ''}`);
    if (droppedCount > 0) {
      this.ctx.log.warn(
        `primary lists ${droppedCount} package(s) whose NEVRA appeared earlier; the first entry of each NEVRA is kept and these are dropped: ${dropped.join(', ')}${droppedCount > dropped.length ? ', …' : ''}`,
      );
    }
  }

  /**
   * Advisories, each listing the packages upstream lists less those the filters leave out (a
   * package in no primary is listed as before, unless the name and arch filter rules it out). An
   * advisory left with no package is kept: its text and references still describe the update.
   */
  private async emitAdvisories(file: MetadataFile, links: AdvisoryPackageLinks, selection: PackageSelection): Promise<void> {
    const source = `updateinfo metadata ${file.href}`;
    const seen = new Set<string>();
    let emitted = 0;
    let linked = 0;
    let unlisted = 0;
    // read on a thread of its own (unless small), while this one runs the pipeline on the last packages and the advisories before
    for await (const advisories of readAdvisoriesInThread(file, this.readOptions)) {
      for (const advisory of advisories) {
        if (seen.has(advisory.id)) {
          this.ctx.log.warn(`${source}, line ${advisory.line}: advisory ${advisory.id} appeared earlier; the first one is kept`);
          continue;
        }
        seen.add(advisory.id);
        const packages = selection.keepsEverything ? advisory.packages : advisory.packages.filter((p) => selection.keeps(p));
        unlisted += advisory.packages.length - packages.length;
        const packageUnitIds = await links.unitIds(packages);
        linked += packageUnitIds.length;
        // the spread keeps the keys' order, so the metadata stays canonical as built
        const listed = packages === advisory.packages ? advisory : { ...advisory, packages };
        await this.put(new DeclarativeContent({ typeId: RPM_ADVISORY, key: { id: advisory.id }, metadata: advisoryMetadata(listed, packageUnitIds) }));
        emitted++;
      }
    }
    this.ctx.log.info(`updateinfo: ${emitted} advisories, ${linked} links to packages of this sync${unlisted > 0 ? `; ${unlisted} package reference(s) left out by the filters` : ''}`);
  }

  private async unassociateStaleMetadata(current: readonly UnitKey[]): Promise<void> {
    const keyText = (key: UnitKey) => JSON.stringify([key['dataType'], key['relativePath'], key['checksumType'], key['checksum']]);
    const wanted = new Set(current.map(keyText));
    const stale: UnitKey[] = [];
    for await (const unit of this.ctx.conduit.unitKeysForRepo(RPM_REPO_METADATA)) {
      if (unit.origin === 'sync' && !wanted.has(keyText(unit.key))) stale.push(unit.key);
    }
    if (stale.length > 0) {
      const removed = await this.ctx.conduit.unassociateUnits(RPM_REPO_METADATA, stale);
      this.ctx.log.info(`removed ${removed} metadata file(s) that repomd.xml no longer lists`);
    }
  }
}

/** Records with distinct unit keys (a record repeated verbatim is kept once). */
function uniqueRecords(records: readonly RepomdRecord[]): RepomdRecord[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    const key = JSON.stringify([r.type, r.relativePath, r.checksumType, r.checksum]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The file without its open-checksums: for a second reading of a file the first one verified. */
function withoutOpenDigests(file: MetadataFile): MetadataFile {
  const { openDigests: _verified, ...rest } = file;
  return rest;
}

function duplicatedTypes(records: readonly RepomdRecord[]): string[] {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  return [...counts].filter(([, n]) => n > 1).map(([type]) => type);
}
