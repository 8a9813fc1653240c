import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * docs/writing-an-importer.md shows the example importers' files in fenced blocks tagged with their
 * path (```ts file=examples/notes-importer/src/index.ts). The guide's code is the example's code:
 * every tagged block must equal its file, and every file of the example must be in the guide, so a
 * reader following only the guide builds exactly what CI builds and tests.
 */
const ROOT = path.resolve(__dirname, '..');
const GUIDE = path.join(ROOT, 'docs', 'writing-an-importer.md');
const EXAMPLES = ['examples/notes-importer', 'examples/simple-index-importer'];
const NOT_SOURCE = new Set(['node_modules', 'dist']);

interface FileBlock {
  readonly file: string;
  readonly content: string;
  readonly line: number;
}

/** Fenced blocks whose info string names a file: ```lang file=path */
function fileBlocks(markdown: string): FileBlock[] {
  const blocks: FileBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```\S*\s+file=(\S+)\s*$/.exec(lines[i] as string);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`${GUIDE}:${i + 1}: the block for ${open[1]} is never closed`);
    blocks.push({ file: open[1] as string, content: lines.slice(i + 1, end).join('\n') + '\n', line: i + 1 });
    i = end;
  }
  return blocks;
}

function exampleFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return NOT_SOURCE.has(entry.name) ? [] : exampleFiles(relative);
    return entry.name.endsWith('.tsbuildinfo') ? [] : [relative];
  });
}

describe('the importer guide', () => {
  const blocks = fileBlocks(readFileSync(GUIDE, 'utf8'));

  it('shows each file of the example exactly as it is in the repository', () => {
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      const actual = readFileSync(path.join(ROOT, block.file), 'utf8');
      if (actual !== block.content) {
        throw new Error(`docs/writing-an-importer.md line ${block.line}: the block for ${block.file} differs from the file; copy the file into the guide (or the guide into the file)`);
      }
    }
  });

  it('shows every file of the example, each once', () => {
    const shown = blocks.map((b) => b.file);
    expect(new Set(shown).size).toBe(shown.length);
    expect(shown.sort()).toEqual(EXAMPLES.flatMap((example) => exampleFiles(example)).sort());
  });
});
