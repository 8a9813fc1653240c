import type { ContentStore, PublicationEntry } from '../store/content-store.js';
import { encodePath } from './request-path.js';

/** Listings stop after this many names: a directory of a million packages is not read for a human. */
const MAX_LISTED = 2000;
const PAGE = 500;
/** Sorts after every path that continues a directory name with '/' (in UTF-8 byte order, as stores compare). */
const PAST_DIRECTORY = '/\u{10FFFF}';

export interface Listing {
  readonly dirs: string[];
  readonly files: PublicationEntry[];
  readonly truncated: boolean;
}

/**
 * The subdirectories and files directly under `prefix` in a publication, read in path order and
 * skipping past each subdirectory's contents with one query, so a listing costs queries in
 * proportion to what it shows.
 */
export async function listDirectory(store: ContentStore, publicationId: string, prefix: string): Promise<Listing> {
  const dirs: string[] = [];
  const files: PublicationEntry[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.listPublicationEntries(publicationId, { prefix, ...(after !== undefined ? { after } : {}), limit: PAGE });
    if (page.length === 0) return { dirs, files, truncated: false };
    let skipped = false;
    for (const entry of page) {
      if (dirs.length + files.length >= MAX_LISTED) return { dirs, files, truncated: true };
      const rest = entry.path.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) {
        files.push(entry);
        after = entry.path;
        continue;
      }
      const dir = rest.slice(0, slash);
      dirs.push(dir);
      after = `${prefix}${dir}${PAST_DIRECTORY}`;
      skipped = true;
      break;
    }
    if (!skipped && page.length < PAGE) return { dirs, files, truncated: false };
  }
}

/** A plain HTML index page. */
export function listingPage(requestPath: string, dirs: readonly string[], files: readonly PublicationEntry[], truncated: boolean): string {
  const title = escapeHtml(decodeSafely(requestPath));
  const rows: string[] = [];
  if (requestPath !== '/content/') rows.push('<a href="../">../</a>');
  for (const dir of dirs) rows.push(`<a href="${encodePath(dir.slice(0, -1))}/">${escapeHtml(dir)}</a>`);
  for (const file of files) {
    const name = file.path.slice(file.path.lastIndexOf('/') + 1);
    const size = file.size === null ? '-' : String(file.size);
    rows.push(`<a href="${encodePath(name)}">${escapeHtml(name)}</a>${' '.repeat(Math.max(1, 60 - name.length))}${size.padStart(14)}`);
  }
  if (truncated) rows.push(`… (only the first ${MAX_LISTED} names are listed)`);
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Index of ${title}</title></head>\n<body><h1>Index of ${title}</h1><hr><pre>\n${rows.join('\n')}\n</pre><hr></body></html>\n`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
