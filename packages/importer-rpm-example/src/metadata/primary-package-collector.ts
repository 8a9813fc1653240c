import { ErrorCodes, TributaryError } from '@tributary/plugin-api';
import { dependencyOf, type Dependency } from './package-details.js';
import { checkedPrimaryPackage, emptyPackageFields, type PackageSizes, type PackageTimes, type PrimaryPackage, type PrimaryPackageFields } from './primary-package.js';
import { StringPool } from './string-pool.js';
import type { StrictXmlTokenizer } from '../xml/strict-xml-tokenizer.js';
import type { XmlAttributes } from '../xml/xml-attributes.js';
import type { XmlResultCollector } from '../xml/xml-document-reader.js';

/** Most characters of text one `<package>` may hold (description, requires…); past it, the XML is refused. */
const MAX_PACKAGE_CHARS = 64 * 1024 * 1024;

// What an element is to the collector, by local name (`rpm:entry` → entry).
const OTHER = 0;
const METADATA = 1;
const PACKAGE = 2;
const NAME = 3;
const ARCH = 4;
const SUMMARY = 5;
const DESCRIPTION = 6;
const PACKAGER = 7;
const URL = 8;
const CHECKSUM = 9;
const VERSION = 10;
const LOCATION = 11;
const SIZE = 12;
const TIME = 13;
const FORMAT = 14;
const LICENSE = 15;
const VENDOR = 16;
const GROUP = 17;
const BUILDHOST = 18;
const SOURCERPM = 19;
const PROVIDES = 20;
const REQUIRES = 21;
const ENTRY = 22;
const CONFLICTS = 23;
const OBSOLETES = 24;
const SUGGESTS = 25;
const ENHANCES = 26;
const RECOMMENDS = 27;
const SUPPLEMENTS = 28;
const FILE = 29;
const HEADER_RANGE = 30;

const CODES: ReadonlyMap<string, number> = new Map([
  ['metadata', METADATA],
  ['package', PACKAGE],
  ['name', NAME],
  ['arch', ARCH],
  ['summary', SUMMARY],
  ['description', DESCRIPTION],
  ['packager', PACKAGER],
  ['url', URL],
  ['checksum', CHECKSUM],
  ['version', VERSION],
  ['location', LOCATION],
  ['size', SIZE],
  ['time', TIME],
  ['format', FORMAT],
  ['license', LICENSE],
  ['vendor', VENDOR],
  ['group', GROUP],
  ['buildhost', BUILDHOST],
  ['sourcerpm', SOURCERPM],
  ['provides', PROVIDES],
  ['requires', REQUIRES],
  ['entry', ENTRY],
  ['conflicts', CONFLICTS],
  ['obsoletes', OBSOLETES],
  ['suggests', SUGGESTS],
  ['enhances', ENHANCES],
  ['recommends', RECOMMENDS],
  ['supplements', SUPPLEMENTS],
  ['file', FILE],
  ['header-range', HEADER_RANGE],
]);

/**
 * Elements that do not count as children of a text element: the generic record reader this
 * collector replaced skipped them, so a `<description>` holding one kept its text.
 */
function isSkippedChild(code: number): boolean {
  return code >= CONFLICTS;
}

/** Distinct element names remembered with their code; past it (hostile input), codes are looked up each time. */
const MAX_CACHED_NAMES = 1024;

/**
 * Builds {@link PrimaryPackage}s straight from the tokens of primary.xml: no element tree, no
 * attribute map, and no string for what the importer does not keep (whitespace, elements it does
 * not know). Read are the `<package>` children of the root `<metadata>`, their children, the
 * children of their first `<format>` (its `<file>`s, all of them), and the `<rpm:entry>`s of its
 * first dependency list of each kind. Namespace prefixes are ignored.
 */
export class PrimaryPackageCollector implements XmlResultCollector<PrimaryPackage> {
  tokenizer!: StrictXmlTokenizer;
  private ready: PrimaryPackage[] = [];
  private readonly codes = new Map<string, number>();
  private readonly pool = new StringPool();
  private depth = 0;
  /** The package being read, if any. */
  private fields: PrimaryPackageFields | undefined;
  private inFormat = false;
  private chars = 0;
  /** Bit per code: the kinds of element this package (or its format) had already; the first one counts. */
  private seen = 0;
  /** The text element being read: its code, depth and text so far; `captureChild` once it holds an element. */
  private capture = OTHER;
  private captureDepth = 0;
  private captured = '';
  private captureChild = false;
  /** The dependency list being read (`provides`, `requires`, …), if any. */
  private entries: Dependency[] | undefined;
  /** The `type` of the `<file>` being read. */
  private fileType: string | undefined;
  /** The root's `packages` attribute, if it has one; and the packages read. */
  private declaredCount: string | undefined;
  private packageCount = 0;

  /** `onWarning` hears of what is wrong but harmless: a `packages` count the document disagrees with. */
  constructor(
    private readonly source: string,
    private readonly onWarning?: (message: string) => void,
  ) {}

  take(): PrimaryPackage[] | undefined {
    if (this.ready.length === 0) return undefined;
    const ready = this.ready;
    this.ready = [];
    return ready;
  }

  /** Only text directly inside the element being captured is wanted. */
  get wantsText(): boolean {
    return this.capture !== OTHER && this.depth === this.captureDepth && !this.captureChild;
  }

  openTag(qualifiedName: string, attributes: XmlAttributes): void {
    const depth = ++this.depth;
    const code = this.codeOf(qualifiedName);
    if (depth === 1) {
      if (code !== METADATA) this.fail(`the root element is <${qualifiedName}>, expected <metadata>`);
      this.declaredCount = attributes.get('packages');
    } else if (depth === 2) {
      if (code === PACKAGE) this.startPackage();
    } else if (this.fields) {
      if (this.capture !== OTHER && depth === this.captureDepth + 1 && !isSkippedChild(code)) this.captureChild = true;
      if (depth === 3) this.packageChild(this.fields, code, attributes, depth);
      else if (depth === 4 && this.inFormat) this.formatChild(this.fields, code, attributes, depth);
      else if (depth === 5 && this.entries !== undefined && code === ENTRY) this.entry(this.entries, attributes);
    }
  }

  text(text: string): void {
    this.count(text.length);
    this.captured = this.captured.length === 0 ? text : this.captured + text;
  }

  closeTag(): void {
    const depth = this.depth--;
    if (depth === 1) this.checkCount();
    const fields = this.fields;
    if (!fields) return;
    if (depth === this.captureDepth && this.capture !== OTHER) this.endCapture(fields);
    else if (depth === 4) this.entries = undefined;
    else if (depth === 3) this.inFormat = false;
    else if (depth === 2) this.endPackage(fields);
  }

  private packageChild(fields: PrimaryPackageFields, code: number, attributes: XmlAttributes, depth: number): void {
    if (code === OTHER || isSkippedChild(code) || this.once(code)) return;
    switch (code) {
      case VERSION:
        fields.hasVersion = true;
        fields.epoch = attributes.get('epoch');
        fields.ver = attributes.get('ver');
        fields.rel = attributes.get('rel');
        return;
      case LOCATION:
        fields.href = attributes.get('href');
        fields.xmlBase = attributes.get('xml:base');
        return;
      case SIZE:
        fields.size = sizesOf(attributes);
        return;
      case TIME:
        fields.time = timesOf(attributes);
        return;
      case FORMAT:
        this.inFormat = true;
        return;
      case CHECKSUM:
        fields.checksumType = attributes.get('type');
        this.startCapture(code, depth);
        return;
      case NAME:
      case ARCH:
      case SUMMARY:
      case DESCRIPTION:
      case PACKAGER:
      case URL:
        this.startCapture(code, depth);
    }
  }

  private formatChild(fields: PrimaryPackageFields, code: number, attributes: XmlAttributes, depth: number): void {
    switch (code) {
      case FILE:
        this.fileType = attributes.get('type');
        this.startCapture(code, depth);
        return;
      case HEADER_RANGE:
        if (!this.once(code)) {
          const start = integerOf(attributes.get('start'));
          const end = integerOf(attributes.get('end'));
          if (start !== undefined && end !== undefined) fields.headerRange = { end, start };
        }
        return;
      case CONFLICTS:
        if (!this.once(code)) this.entries = fields.conflicts;
        return;
      case OBSOLETES:
        if (!this.once(code)) this.entries = fields.obsoletes;
        return;
      case SUGGESTS:
        if (!this.once(code)) this.entries = fields.suggests;
        return;
      case ENHANCES:
        if (!this.once(code)) this.entries = fields.enhances;
        return;
      case RECOMMENDS:
        if (!this.once(code)) this.entries = fields.recommends;
        return;
      case SUPPLEMENTS:
        if (!this.once(code)) this.entries = fields.supplements;
        return;
      case LICENSE:
      case VENDOR:
      case GROUP:
      case BUILDHOST:
      case SOURCERPM:
        if (!this.once(code)) this.startCapture(code, depth);
        return;
      case PROVIDES:
        if (!this.once(code)) this.entries = fields.provides;
        return;
      case REQUIRES:
        if (!this.once(code)) this.entries = fields.requires;
    }
  }

  /**
   * One `<rpm:entry>`. Its name is pooled (capabilities repeat across packages, as before); flags,
   * epoch, version and release are short, copies already, and pooling them cost more than it saved.
   */
  private entry(entries: Dependency[], attributes: XmlAttributes): void {
    const name = attributes.get('name');
    if (!name) return;
    const version = attributes.get('ver');
    const release = attributes.get('rel');
    const pre = attributes.get('pre');
    this.count(name.length + (version?.length ?? 0) + (release?.length ?? 0));
    entries.push(dependencyOf(this.pool.intern(name), attributes.get('flags'), attributes.get('epoch'), version, release, pre === '1' || pre === 'true'));
  }

  /** True when this package had such an element already; marks it seen. */
  private once(code: number): boolean {
    const bit = 1 << code;
    if (this.seen & bit) return true;
    this.seen |= bit;
    return false;
  }

  private startCapture(code: number, depth: number): void {
    this.capture = code;
    this.captureDepth = depth;
    this.captured = '';
    this.captureChild = false;
  }

  /** An element holding elements has no text of its own (as in the generic record reader). */
  private endCapture(fields: PrimaryPackageFields): void {
    const text = this.captureChild ? '' : this.captured;
    switch (this.capture) {
      case NAME: fields.name = text; break;
      case ARCH: fields.arch = text; break;
      case SUMMARY: fields.summary = text; break;
      case DESCRIPTION: fields.description = text; break;
      case PACKAGER: fields.packager = text; break;
      case URL: fields.url = text; break;
      case CHECKSUM: fields.checksum = text; break;
      case LICENSE: fields.license = text; break;
      case VENDOR: fields.vendor = text; break;
      case GROUP: fields.group = text; break;
      case BUILDHOST: fields.buildhost = text; break;
      case SOURCERPM: fields.sourcerpm = text; break;
      case FILE: {
        const type = this.fileType;
        if (text) fields.files.push(type && type !== 'file' ? [text, type] : [text]);
        this.fileType = undefined;
        break;
      }
    }
    this.capture = OTHER;
    this.captured = '';
  }

  private startPackage(): void {
    this.fields = emptyPackageFields(this.tokenizer.currentLine());
    this.chars = 0;
    this.seen = 0;
  }

  private endPackage(fields: PrimaryPackageFields): void {
    this.packageCount++;
    this.fields = undefined;
    this.inFormat = false;
    this.entries = undefined;
    this.ready.push(checkedPrimaryPackage(fields, this.source, this.pool));
  }

  /** At the end of the root: a `packages` attribute that is not how many `<package>`s it held is reported (the packages are what counts). */
  private checkCount(): void {
    const declared = this.declaredCount;
    if (declared === undefined || declared.trim() === String(this.packageCount)) return;
    const what = /^\s*[0-9]+\s*$/.test(declared) ? `declares packages="${declared.trim()}"` : `has packages=${JSON.stringify(declared)}, not a count,`;
    this.onWarning?.(`${this.source}: <metadata> ${what} but holds ${this.packageCount} <package> element(s); the packages it holds are read`);
  }

  private codeOf(qualifiedName: string): number {
    let code = this.codes.get(qualifiedName);
    if (code === undefined) {
      const colon = qualifiedName.indexOf(':');
      code = CODES.get(colon < 0 ? qualifiedName : qualifiedName.slice(colon + 1)) ?? OTHER;
      if (this.codes.size < MAX_CACHED_NAMES) this.codes.set(qualifiedName, code);
    }
    return code;
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

function sizesOf(attributes: XmlAttributes): PackageSizes {
  const packageSize = integerOf(attributes.get('package'));
  const installed = integerOf(attributes.get('installed'));
  const archive = integerOf(attributes.get('archive'));
  // the usual case in one literal; otherwise only the attributes that are integers. Keys in sorted
  // order: the catalog stores metadata as canonical JSON and copies only objects out of order.
  if (packageSize !== undefined && installed !== undefined && archive !== undefined) return { archive, installed, package: packageSize };
  return {
    ...(archive !== undefined ? { archive } : {}),
    ...(installed !== undefined ? { installed } : {}),
    ...(packageSize !== undefined ? { package: packageSize } : {}),
  };
}

function timesOf(attributes: XmlAttributes): PackageTimes {
  const file = integerOf(attributes.get('file'));
  const build = integerOf(attributes.get('build'));
  if (file !== undefined && build !== undefined) return { build, file }; // sorted, as sizesOf
  return { ...(build !== undefined ? { build } : {}), ...(file !== undefined ? { file } : {}) };
}

/** A non-negative safe integer, else undefined. */
function integerOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
