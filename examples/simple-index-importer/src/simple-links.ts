/** One `<a>` of a PEP 503 page: the text, the absolute url (no fragment) and what the fragment and attributes say. */
export interface SimpleLink {
  readonly text: string;
  readonly url: string;
  readonly sha256?: string;
  readonly requiresPython?: string;
}

const ANCHOR = /<a\s+href="([^"]+)"([^>]*)>([^<]+)<\/a>/g;

/** The links of a PEP 503 page, resolved against the page's own url. */
export function parseSimpleLinks(html: string, pageUrl: string): SimpleLink[] {
  const links: SimpleLink[] = [];
  for (const [, href, attributes, text] of html.matchAll(ANCHOR) as Iterable<[string, string, string, string]>) {
    const url = new URL(unescapeHtml(href), pageUrl);
    const sha256 = /^sha256=([0-9a-f]{64})$/.exec(url.hash.slice(1))?.[1];
    url.hash = '';
    const requiresPython = /data-requires-python="([^"]*)"/.exec(attributes)?.[1];
    links.push({
      text: unescapeHtml(text.trim()),
      url: url.href,
      ...(sha256 !== undefined ? { sha256 } : {}),
      ...(requiresPython !== undefined ? { requiresPython: unescapeHtml(requiresPython) } : {}),
    });
  }
  return links;
}

function unescapeHtml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}
