import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  advisoryOf,
  parseRepomd,
  readPrimaryPackages,
  readMetadataRecords,
  UPDATEINFO_RECORDS,
  type Advisory,
  type PrimaryPackage,
  type Repomd,
  type RepomdRecord,
} from '@tributary/importer-rpm-example';

/**
 * Reads a repository on disk with the importer's parsers, the way the first stage does after its
 * downloads: repomd.xml, then each record's file (checked against repomd's checksums here, as the
 * host's downloader does during a sync).
 */
export class LocalRepoReader {
  readonly baseUrl: string;

  constructor(readonly dir: string) {
    this.baseUrl = pathToFileURL(dir + '/').toString();
  }

  repomd(): Promise<Repomd> {
    return parseRepomd(createReadStream(path.join(this.dir, 'repodata', 'repomd.xml')), this.baseUrl);
  }

  async record(type: string): Promise<RepomdRecord> {
    const record = (await this.repomd()).records.find((r) => r.type === type);
    if (!record) throw new Error(`no ${type} record`);
    return record;
  }

  /** Recomputes every checksum repomd.xml gives for a record's file; returns the mismatching algorithms. */
  async checksumMismatches(record: RepomdRecord): Promise<string[]> {
    const bytes = await readFile(path.join(this.dir, record.href));
    return Object.entries(record.digests)
      .filter(([algorithm, hex]) => createHash(algorithm).update(bytes).digest('hex') !== hex)
      .map(([algorithm]) => algorithm);
  }

  async packages(maxBytes = 1 << 30): Promise<PrimaryPackage[]> {
    const record = await this.record('primary');
    const out: PrimaryPackage[] = [];
    for await (const packages of readPrimaryPackages(this.file(record), { maxBytes })) out.push(...packages);
    return out;
  }

  async advisories(): Promise<Advisory[]> {
    const record = await this.record('updateinfo');
    const out: Advisory[] = [];
    for await (const element of readMetadataRecords(this.file(record), UPDATEINFO_RECORDS, { maxBytes: 1 << 30 })) {
      out.push(advisoryOf(element, 'updateinfo'));
    }
    return out;
  }

  private file(record: RepomdRecord) {
    return { path: path.join(this.dir, record.href), href: record.href, type: record.type, ...(record.openSize !== undefined ? { openSize: record.openSize } : {}) };
  }
}
