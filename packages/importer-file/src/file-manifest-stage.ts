import { open, rm } from 'node:fs/promises';
import { DeclarativeContent, ErrorCodes, Stage, TributaryError, type FirstStageContext } from '@tributary/plugin-api';
import { DEFAULT_MAX_MANIFEST_BYTES, type FileImporterConfig } from './file-config.js';
import { FILE_CONTENT_TYPE } from './file-content-type.js';
import { parseManifestLine, type ManifestEntry } from './manifest-entry.js';
import { readManifestEntryLines } from './read-manifest.js';

export const UNCHANGED_REASON = 'PULP_MANIFEST unchanged since the last sync';

/** The manifest's name in a file repository's directory. */
export const MANIFEST_NAME = 'PULP_MANIFEST';

/**
 * The file importer's first stage: downloads the PULP_MANIFEST (the url's, or the one in the
 * directory a url ending in `/` names), finishes early when it is the one the last sync saw, and
 * otherwise streams it from disk, putting one DeclarativeContent per file.
 */
export class FileManifestStage extends Stage {
  constructor(private readonly ctx: FirstStageContext<FileImporterConfig>) {
    super('FileManifestStage');
  }

  override async run(): Promise<void> {
    const manifestUrl = parseManifestUrl(this.ctx.settings.url);
    const source = describeUrl(manifestUrl);
    const maxBytes = this.ctx.config?.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    const manifest = await this.ctx.fetcher.download(manifestUrl.href, { maxBytes }, this.signal);
    try {
      if (this.ctx.finishEarlyIfUnchanged(manifest.digests.sha256, UNCHANGED_REASON)) return;
      await refuseHtml(manifest.path, source);
      // files resolve against the manifest's directory; built once, joined by concatenation below,
      // which equals `new URL(path, manifestUrl)` for the validated paths at a fraction of the cost
      const directoryUrl = new URL('.', manifestUrl).href;
      let files = 0;
      let kept = 0;
      const what = `reading ${MANIFEST_NAME}`;
      const onRead = this.ctx.reportProgress ? (bytes: number) => this.ctx.reportProgress!(what, bytes, manifest.size) : undefined;
      for await (const lines of readManifestEntryLines(manifest.path, { source, signal: this.signal, ...(onRead ? { onRead } : {}) })) {
        // lines a re-sync met before (the same text under the same settings) are kept as they are
        // stored, without being parsed or built again; the rest become content
        const unchanged = this.ctx.keepUnchanged ? await this.ctx.keepUnchanged(lines.map((l) => l.text)) : undefined;
        const entries: { entry: ManifestEntry; text: string }[] = [];
        lines.forEach(({ line, text }, i) => {
          if (unchanged?.[i]) return;
          const entry = parseManifestLine(text, line, source);
          if (entry) entries.push({ entry, text });
        });
        // built as the next queue takes them, so a chunk's entries are not all held as content at once
        await this.putAll(contentsOf(entries, directoryUrl));
        files += lines.length;
        kept += lines.length - entries.length;
      }
      this.ctx.log.info(`${source} lists ${files} files${kept > 0 ? `, ${kept} of them as the last sync stored them` : ''}`);
    } finally {
      await rm(manifest.path, { force: true });
    }
  }
}

/**
 * One content per entry. Each is all its manifest line says, resolved against the manifest's
 * directory (part of the sync's settings), so the line is the content's `source`: a re-sync that
 * meets the same line keeps the file as stored without parsing it or building its content.
 */
function* contentsOf(entries: readonly { entry: ManifestEntry; text: string }[], directoryUrl: string): Generator<DeclarativeContent> {
  for (const { entry, text } of entries) {
    yield new DeclarativeContent({
      typeId: FILE_CONTENT_TYPE.id,
      key: { relativePath: entry.relativePath, sha256: entry.sha256 },
      source: text,
      metadata: { size: entry.size },
      artifacts: [
        {
          url: directoryUrl + encodePath(entry.relativePath),
          relativePath: entry.relativePath,
          size: entry.size,
          digests: { sha256: entry.sha256 },
        },
      ],
    });
  }
}

/** The manifest's url: `url` itself, or `url` + PULP_MANIFEST when it names a directory (ends in `/`). */
function parseManifestUrl(url: string): URL {
  try {
    const parsed = new URL(url);
    return parsed.pathname.endsWith('/') ? new URL(MANIFEST_NAME, parsed) : parsed;
  } catch {
    throw new TributaryError(ErrorCodes.URL_INVALID, `the file importer needs the absolute url of a PULP_MANIFEST or of its directory (ending in /); got an invalid url`, {
      details: { url: url.replace(/\/\/[^/@]*@/, '//') },
    });
  }
}

/** Characters that mean themselves in a url path; most repositories' paths use only these. */
const URL_SAFE_PATH = /^[A-Za-z0-9\-._~/]*$/;

/** Each segment percent-encoded, so `#`, `?`, `%` and spaces in names reach the server as names. */
function encodePath(relativePath: string): string {
  if (URL_SAFE_PATH.test(relativePath)) return relativePath;
  return relativePath.split('/').map(encodeURIComponent).join('/');
}

/** The url for messages: without credentials or query, which may carry tokens. */
function describeUrl(url: URL): string {
  const shown = new URL(url.href);
  shown.username = '';
  shown.password = '';
  shown.search = '';
  return shown.href;
}

/**
 * A url that names a web page (a directory listing, a login page) rather than the manifest would
 * otherwise fail on its first line as "expected 3 comma-separated columns": say what it is instead.
 */
async function refuseHtml(file: string, source: string): Promise<void> {
  const handle = await open(file, 'r');
  let start: string;
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(256), 0, 256, 0);
    start = buffer.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '').trimStart().toLowerCase();
  } finally {
    await handle.close();
  }
  if (start.startsWith('<!doctype html') || start.startsWith('<html')) {
    throw new TributaryError(
      ErrorCodes.MANIFEST_INVALID,
      `${source} is an HTML page, not a PULP_MANIFEST: give the manifest's url, or its directory's url ending in '/' (the importer then reads ${MANIFEST_NAME} there)`,
      { details: { manifest: source, problem: 'an HTML page' } },
    );
  }
}
