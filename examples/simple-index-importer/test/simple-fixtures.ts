import { createHash } from 'node:crypto';
import type { ImporterFixtures } from '@tributary/conformance';

type Projects = Record<string, Record<string, { body: string; requiresPython?: string }>>;

/** A PEP 503 index as in-memory files: `simple/index.html`, `simple/<project>/index.html`, `packages/<project>/<file>`. */
function simpleIndex(projects: Projects): Record<string, string> {
  const files: Record<string, string> = {};
  const page = (links: string[]) => `<!DOCTYPE html>\n<html><body>\n${links.join('\n')}\n</body></html>\n`;
  files['simple/index.html'] = page(Object.keys(projects).map((name) => `<a href="${name}/">${name}</a>`));
  for (const [name, releases] of Object.entries(projects)) {
    files[`simple/${name}/index.html`] = page(
      Object.entries(releases).map(([file, { body, requiresPython }]) => {
        files[`packages/${name}/${file}`] = body;
        const sha256 = createHash('sha256').update(body).digest('hex');
        const attribute = requiresPython !== undefined ? ` data-requires-python="${requiresPython.replace(/>/g, '&gt;').replace(/</g, '&lt;')}"` : '';
        return `<a href="../../packages/${name}/${file}#sha256=${sha256}"${attribute}>${file}</a>`;
      }),
    );
  }
  return files;
}

/**
 * The root page and the first project page are the same in both states, so only a fingerprint that
 * covers every page sees the changes: `abacus` loses its file, `beta` gains one and changes
 * requires-python of another, `gamma` gains one.
 */
export const SIMPLE_FIXTURES: ImporterFixtures = {
  // the sync url is the index's base: http://127.0.0.1:PORT/simple/
  feedPath: 'simple/',
  initial: {
    files: simpleIndex({
      aardvark: { 'aardvark-1.0.tar.gz': { body: 'aardvark 1.0\n' } },
      abacus: { 'abacus-0.1.tar.gz': { body: 'abacus 0.1\n' } },
      beta: { 'beta-1.0.tar.gz': { body: 'beta 1.0\n', requiresPython: '>=3.8' }, 'beta-1.1.tar.gz': { body: 'beta 1.1\n' } },
      gamma: { 'gamma-0.1.tar.gz': { body: 'gamma 0.1\n' } },
    }),
  },
  changed: {
    files: simpleIndex({
      aardvark: { 'aardvark-1.0.tar.gz': { body: 'aardvark 1.0\n' } },
      abacus: {},
      beta: {
        'beta-1.0.tar.gz': { body: 'beta 1.0\n', requiresPython: '>=3.9' },
        'beta-1.1.tar.gz': { body: 'beta 1.1\n' },
        'beta-2.0.tar.gz': { body: 'beta 2.0\n' },
      },
      gamma: { 'gamma-0.1.tar.gz': { body: 'gamma 0.1\n' }, 'gamma-0.2.tar.gz': { body: 'gamma 0.2\n' } },
    }),
  },
};

/**
 * A large index for the kit's heap budget: `units` files, 100 to a project page. Only the pages are
 * listed (the kit's heap sync is on_demand, so no file is fetched).
 */
export function largeSimpleIndex(units: number): { files: Record<string, string> } {
  const files: Record<string, string> = {};
  const page = (links: string[]) => `<!DOCTYPE html>\n<html><body>\n${links.join('\n')}\n</body></html>\n`;
  const projects: string[] = [];
  for (let p = 0; p * 100 < units; p++) {
    const name = `project-${p}`;
    projects.push(`<a href="${name}/">${name}</a>`);
    const links: string[] = [];
    for (let i = p * 100; i < Math.min(units, (p + 1) * 100); i++) {
      const sha256 = createHash('sha256').update(`${i}`).digest('hex');
      links.push(`<a href="../../packages/${name}/${name}-1.${i}.tar.gz#sha256=${sha256}" data-requires-python="&gt;=3.8">${name}-1.${i}.tar.gz</a>`);
    }
    files[`simple/${name}/index.html`] = page(links);
  }
  files['simple/index.html'] = page(projects);
  return { files };
}
