import { openMetadata, type MetadataFile, type ReadMetadataOptions } from './metadata-file.js';
import { PackageDetailsCollector, type PackageDetailsKind } from './package-details-collector.js';
import type { Changelog, PackageDetails, PackageFile } from './package-details.js';
import { detachStrings } from '../xml/detached-strings.js';
import { readXmlDocument } from '../xml/xml-document-reader.js';

/** filelists and other of the primary being read, when repomd.xml lists them. */
export interface PackageDetailsFiles {
  readonly filelists?: MetadataFile;
  readonly other?: MetadataFile;
  /** Changelog entries kept per package, the newest (config `changelogLimit`). */
  readonly changelogLimit: number;
}

/**
 * Characters of entries read ahead of primary that may wait to be matched, per file. createrepo_c
 * writes filelists and other in primary's order, so normally none wait; this bounds the memory a
 * file in another order (or listing packages primary does not) can take.
 */
export const MAX_WAITING_CHARS = 16 * 1024 * 1024;

/**
 * The packages of a filelists.xml or other.xml file, streamed: decompressed as primary is (size
 * bounded, open-checksum verified at the end), read strictly (see PackageDetailsCollector).
 */
export async function* readPackageDetails(
  file: MetadataFile,
  kind: PackageDetailsKind,
  options: ReadMetadataOptions,
  changelogLimit: number,
): AsyncGenerator<PackageDetails[]> {
  const source = `${file.type} metadata ${file.href}`;
  const content = await openMetadata(file, source, options);
  yield* readXmlDocument(content.chunks, source, new PackageDetailsCollector(kind, source, changelogLimit));
  content.verify();
}

/**
 * Matches the entries of filelists or other to primary's packages by pkgId while all three
 * stream. In primary's order each package finds its entry next in the batch read last, and
 * nothing waits. An entry read ahead of its package waits (detached), in the order read; what waits is bounded
 * ({@link MAX_WAITING_CHARS}, the oldest dropped past it), and one package reads at most that far
 * ahead looking for its entry. So files in primary's order match entry for entry with nothing
 * waiting, files a little out of order still match, and in any other case memory stays bounded:
 * a package whose entry is not found within the window gets none (the sync then keeps primary's
 * files for it, or no changelogs), and what was never matched is counted. {@link finish} reads
 * the file to its end (so its open-checksum is verified) and reports both counts.
 */
export class PackageDetailsJoin {
  /** The batch read last, in the file's order; entries before `next` were taken or moved to `waiting`. */
  private batch: readonly PackageDetails[] = [];
  private next = 0;
  /** Entries read ahead of their package, out of the file's order: detached, bounded. */
  private readonly waiting = new Map<string, PackageDetails>();
  private waitingChars = 0;
  private ended = false;
  /** Packages that got no entry; entries never matched (dropped from the window, or left at the end). */
  private missing = 0;
  private unmatched = 0;
  private matched = 0;
  /** The first batch, asked for at once: the file opens and decompresses while primary does. */
  private ahead: Promise<IteratorResult<PackageDetails[]>> | undefined;

  constructor(
    private readonly kind: PackageDetailsKind,
    private readonly href: string,
    private readonly reader: AsyncGenerator<PackageDetails[]>,
    private readonly maxWaitingChars = MAX_WAITING_CHARS,
  ) {
    this.ahead = reader.next();
    // its failure reaches whoever reads next; unread (primary failed first), it is not unhandled
    this.ahead.catch(() => undefined);
  }

  /** The entry of `pkgId` if it is next in the batch read or waiting already (no reading). */
  ready(pkgId: string): PackageDetails | undefined {
    const next = this.batch[this.next];
    if (next !== undefined && next.pkgId === pkgId) {
      this.next++;
      this.matched++;
      return next;
    }
    const found = this.waiting.get(pkgId);
    if (found === undefined) return undefined;
    this.waiting.delete(pkgId);
    this.waitingChars -= found.chars;
    this.matched++;
    return found;
  }

  /** The entry of `pkgId`, reading ahead for it within the window; undefined when there is none. */
  async take(pkgId: string): Promise<PackageDetails | undefined> {
    const ready = this.ready(pkgId);
    if (ready !== undefined) return ready;
    let budget = this.maxWaitingChars;
    for (;;) {
      while (this.next < this.batch.length) {
        const details = this.batch[this.next++]!;
        if (details.pkgId === pkgId) {
          this.matched++;
          return details;
        }
        budget -= details.chars;
        this.wait(details);
      }
      if (this.ended || budget <= 0) break;
      const read = await this.read();
      if (read.done) this.ended = true;
      else {
        this.batch = read.value;
        this.next = 0;
      }
    }
    this.missing++;
    return undefined;
  }

  /** Reads what is left of the file and says what did not match (undefined when everything did). */
  async finish(): Promise<string | undefined> {
    this.unmatched += this.batch.length - this.next;
    this.batch = [];
    this.next = 0;
    while (!this.ended) {
      const next = await this.read();
      if (next.done) this.ended = true;
      else this.unmatched += next.value.length;
    }
    this.unmatched += this.waiting.size;
    this.waiting.clear();
    this.waitingChars = 0;
    if (this.missing === 0 && this.unmatched === 0) return undefined;
    const what = this.kind === 'filelists' ? 'their files are those primary lists' : 'they get no changelogs';
    return (
      `${this.kind} metadata ${this.href}: ${this.missing} package(s) of primary have no entry found in it (${what}), ` +
      `${this.unmatched} of its entries matched no package of primary; ${this.matched} matched. Entries are matched by pkgId, ` +
      `in primary's order or within ${Math.round(this.maxWaitingChars / (1024 * 1024))} M characters of it`
    );
  }

  /** Closes the file early (the reading stopped). */
  async close(): Promise<void> {
    this.ahead = undefined;
    await this.reader.return(undefined);
  }

  private read(): Promise<IteratorResult<PackageDetails[]>> {
    const ahead = this.ahead;
    this.ahead = undefined;
    return ahead ?? this.reader.next();
  }

  private wait(details: PackageDetails): void {
    if (this.waiting.has(details.pkgId)) {
      this.unmatched++;
      return;
    }
    const detached = detachedDetails(details);
    this.waiting.set(detached.pkgId, detached);
    this.waitingChars += detached.chars;
    while (this.waitingChars > this.maxWaitingChars && this.waiting.size > 0) {
      const [oldestId, oldest] = this.waiting.entries().next().value as [string, PackageDetails];
      this.waiting.delete(oldestId);
      this.waitingChars -= oldest.chars;
      this.unmatched++;
    }
  }
}

/**
 * `details` holding only its own characters: an entry's strings are views into the decompressed
 * chunk it was read from, which an entry waiting would keep alive (see detachStrings).
 */
function detachedDetails(details: PackageDetails): PackageDetails {
  const texts = [details.pkgId];
  for (const [path] of details.files ?? []) texts.push(path);
  for (const [author, , text] of details.changelogs ?? []) texts.push(author, text);
  detachStrings(texts);
  let at = 1;
  const files = details.files?.map((f): PackageFile => (f.length > 1 ? [texts[at++]!, f[1]!] : [texts[at++]!]));
  const changelogs = details.changelogs?.map((c): Changelog => [texts[at++]!, c[1], texts[at++]!]);
  return { pkgId: texts[0]!, ...(files ? { files } : {}), ...(changelogs ? { changelogs } : {}), chars: details.chars };
}
