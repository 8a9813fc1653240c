import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { DeclarativeContent, Stage, type FirstStageContext } from '@tributary/plugin-api';
import { SIMPLE_FILE_TYPE } from './simple-content-type.js';
import { parseSimpleLinks } from './simple-links.js';

/** Largest index page the importer reads. */
const MAX_PAGE_BYTES = 16 * 1024 * 1024;

/**
 * Reads a PEP 503 index: the root page lists projects, each project's page lists its files. Every
 * page is read (through the host's fetcher, with this stage's signal) before anything is emitted, so
 * the early-finish fingerprint covers all of them; then one content per file is put, in order.
 */
export class SimpleFirstStage extends Stage {
  constructor(private readonly ctx: FirstStageContext<unknown>) {
    super('SimpleFirstStage');
  }

  override async run(): Promise<void> {
    const rootUrl = new URL('index.html', this.ctx.settings.url).href;
    const root = await this.page(rootUrl);
    const fingerprint = createHash('sha256').update(root);
    const pages: { project: string; url: string; html: string }[] = [];
    for (const link of parseSimpleLinks(root, rootUrl)) {
      const url = new URL('index.html', link.url).href;
      const html = await this.page(url);
      // the fingerprint covers every page: a change on any of them must be seen
      fingerprint.update(`\n${url}\n`).update(html);
      pages.push({ project: link.text, url, html });
    }
    if (this.ctx.finishEarlyIfUnchanged(fingerprint.digest('hex'), 'the index and every project page are unchanged')) return;

    for (const page of pages) {
      for (const link of parseSimpleLinks(page.html, page.url)) {
        await this.put(
          new DeclarativeContent({
            typeId: SIMPLE_FILE_TYPE,
            key: { project: page.project, filename: link.text },
            metadata: link.requiresPython !== undefined ? { requiresPython: link.requiresPython } : {},
            // the content is a pure function of this line of this page
            source: `${page.url} ${link.text} ${link.url} ${link.sha256 ?? ''} ${link.requiresPython ?? ''}`,
            artifacts: [
              {
                url: link.url,
                // one path per file: the project's directory and the file's own name
                relativePath: `packages/${page.project}/${link.text}`,
                // the digest is enough: a size is optional when a digest is given
                ...(link.sha256 !== undefined ? { digests: { sha256: link.sha256 } } : {}),
              },
            ],
          }),
        );
      }
    }
  }

  /** A page's text, downloaded through the host's fetcher to its temporary area and removed once read. */
  private async page(url: string): Promise<string> {
    const file = await this.ctx.fetcher.download(url, { maxBytes: MAX_PAGE_BYTES }, this.signal);
    try {
      return await readFile(file.path, 'utf8');
    } finally {
      await rm(file.path, { force: true });
    }
  }
}
