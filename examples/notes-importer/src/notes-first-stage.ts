import { readFile, rm } from 'node:fs/promises';
import { DeclarativeContent, Stage, type FirstStageContext } from '@tributary/plugin-api';
import { NOTE_TYPE } from './notes-content-type.js';
import { parseNotesIndex } from './notes-index.js';
import type { NotesConfig } from './notes-config.js';

/** An index bigger than this is refused rather than read into memory. */
const MAX_INDEX_BYTES = 16 * 1024 * 1024;

/**
 * The notes importer's first stage: downloads the index, and puts one DeclarativeContent per note
 * into the pipeline. The default stages download the files, save the units and associate them.
 */
export class NotesFirstStage extends Stage {
  constructor(private readonly ctx: FirstStageContext<NotesConfig>) {
    super('NotesFirstStage');
  }

  override async run(): Promise<void> {
    const indexUrl = new URL(this.ctx.config.indexFile, this.ctx.settings.url);
    // The fetcher verifies while it streams and writes to the host's storage area; pass the signal
    // so a cancelled sync stops the download too.
    const index = await this.ctx.fetcher.download(indexUrl.href, { maxBytes: MAX_INDEX_BYTES }, this.signal);
    try {
      // Same index as the last successful sync: nothing to do (unless the sync is forced).
      if (this.ctx.finishEarlyIfUnchanged(index.digests.sha256, `${this.ctx.config.indexFile} unchanged`)) return;
      const notes = parseNotesIndex(await readFile(index.path, 'utf8'), this.ctx.config.indexFile);
      for (const note of notes) {
        // put() waits while the pipeline is full, and throws once the sync is cancelled
        await this.put(
          new DeclarativeContent({
            typeId: NOTE_TYPE.id,
            key: { name: note.name },
            metadata: { title: note.title, size: note.size },
            artifacts: [
              {
                url: new URL(note.file, indexUrl).href,
                relativePath: note.file,
                // what upstream promises: the host refuses bytes that do not match
                size: note.size,
                digests: { sha256: note.sha256 },
              },
            ],
          }),
        );
      }
      this.ctx.log.info(`${this.ctx.config.indexFile} lists ${notes.length} notes`);
    } finally {
      await rm(index.path, { force: true });
    }
  }
}
