import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import type { Changelog, PackageDetails, PackageFile } from './package-details.js';
import type { StrictXmlTokenizer } from '../xml/strict-xml-tokenizer.js';
import type { XmlAttributes } from '../xml/xml-attributes.js';
import type { XmlResultCollector } from '../xml/xml-document-reader.js';

/** Most characters of text one `<package>` may hold; past it, the XML is refused (as in primary). */
const MAX_PACKAGE_CHARS = 64 * 1024 * 1024;

/** filelists.xml (root `<filelists>`, `<file>`s) or other.xml (root `<otherdata>`, `<changelog>`s). */
export type PackageDetailsKind = 'filelists' | 'other';

const ROOTS: Readonly<Record<PackageDetailsKind, string>> = { filelists: 'filelists', other: 'otherdata' };

/**
 * Builds {@link PackageDetails} from the tokens of filelists.xml or other.xml, as
 * PrimaryPackageCollector does for primary: the `<package pkgid>` children of the root and their
 * `<file type>` or `<changelog author date>` children; nothing else is kept. Of other.xml's
 * changelogs only the last `changelogLimit` of each package are kept (createrepo_c writes them
 * oldest first, so these are the newest). A `<package>` without a pkgid is TRIBUTARY_ERR_XML_INVALID.
 */
export class PackageDetailsCollector implements XmlResultCollector<PackageDetails> {
  tokenizer!: StrictXmlTokenizer;
  private ready: PackageDetails[] = [];
  private depth = 0;
  private readonly root: string;
  private readonly item: string;
  /** The package being read: its pkgId, what it holds so far, its characters. */
  private pkgId: string | undefined;
  private files: PackageFile[] = [];
  private changelogs: Changelog[] = [];
  private chars = 0;
  /** The `<file>` or `<changelog>` being read: its attributes and text so far. */
  private capturing = false;
  private captureChild = false;
  private captured = '';
  private fileType: string | undefined;
  private author = '';
  private date = 0;

  constructor(
    private readonly kind: PackageDetailsKind,
    private readonly source: string,
    private readonly changelogLimit: number,
  ) {
    this.root = ROOTS[kind];
    this.item = kind === 'filelists' ? 'file' : 'changelog';
  }

  take(): PackageDetails[] | undefined {
    if (this.ready.length === 0) return undefined;
    const ready = this.ready;
    this.ready = [];
    return ready;
  }

  get wantsText(): boolean {
    return this.capturing && this.depth === 3 && !this.captureChild;
  }

  openTag(qualifiedName: string, attributes: XmlAttributes): void {
    const depth = ++this.depth;
    if (depth === 1) {
      if (localName(qualifiedName) !== this.root) this.fail(`the root element is <${qualifiedName}>, expected <${this.root}>`);
    } else if (depth === 2) {
      if (localName(qualifiedName) === 'package') this.startPackage(attributes);
    } else if (this.pkgId !== undefined) {
      if (depth === 3 && localName(qualifiedName) === this.item) this.startItem(attributes);
      else if (depth === 4 && this.capturing) this.captureChild = true;
    }
  }

  text(text: string): void {
    this.count(text.length);
    this.captured = this.captured.length === 0 ? text : this.captured + text;
  }

  closeTag(): void {
    const depth = this.depth--;
    if (this.pkgId === undefined) return;
    if (depth === 3 && this.capturing) this.endItem();
    else if (depth === 2) this.endPackage(this.pkgId);
  }

  private startPackage(attributes: XmlAttributes): void {
    const pkgId = attributes.get('pkgid')?.trim().toLowerCase();
    if (!pkgId) this.fail('a <package> has no pkgid');
    this.pkgId = pkgId;
    this.files = [];
    this.changelogs = [];
    this.chars = pkgId.length;
  }

  private startItem(attributes: XmlAttributes): void {
    this.capturing = true;
    this.captureChild = false;
    this.captured = '';
    if (this.kind === 'filelists') {
      this.fileType = attributes.get('type');
    } else {
      this.author = attributes.get('author') ?? '';
      const date = Number(attributes.get('date'));
      this.date = Number.isSafeInteger(date) && date >= 0 ? date : 0;
      this.count(this.author.length);
    }
  }

  private endItem(): void {
    const text = this.captureChild ? '' : this.captured;
    this.capturing = false;
    this.captured = '';
    if (this.kind === 'filelists') {
      const type = this.fileType;
      if (text) this.files.push(type && type !== 'file' ? [text, type] : [text]);
      return;
    }
    if (this.changelogLimit === 0) return;
    if (this.changelogs.length === this.changelogLimit) this.changelogs.shift();
    this.changelogs.push([this.author, this.date, text]);
  }

  /**
   * The package's entry, its strings still views into the decompressed chunk: most are matched
   * and written out at once; one that waits is detached then (see PackageDetailsJoin).
   */
  private endPackage(pkgId: string): void {
    this.pkgId = undefined;
    if (this.kind === 'filelists') {
      this.ready.push({ pkgId, files: this.files, chars: this.chars });
      return;
    }
    let held = pkgId.length;
    for (const [author, , text] of this.changelogs) held += author.length + text.length;
    this.ready.push({ pkgId, changelogs: this.changelogs, chars: held });
  }

  private count(chars: number): void {
    this.chars += chars;
    if (this.chars > MAX_PACKAGE_CHARS) this.fail(`a <package> record holds more than ${MAX_PACKAGE_CHARS} characters`);
  }

  private fail(message: string): never {
    const line = this.tokenizer.currentLine();
    throw new TributaryError(ErrorCodes.XML_INVALID, `${this.source}, line ${line}: ${message}`, { details: { source: this.source, line } });
  }
}

function localName(qualifiedName: string): string {
  const colon = qualifiedName.indexOf(':');
  return colon < 0 ? qualifiedName : qualifiedName.slice(colon + 1);
}
