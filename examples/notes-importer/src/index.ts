import { defineImporter } from '@tributary/plugin-api';
import { NOTES_CONFIG_SCHEMA, type NotesConfig } from './notes-config.js';
import { NOTE_TYPE } from './notes-content-type.js';
import { NotesFirstStage } from './notes-first-stage.js';

/** Imports notes listed in a notes.json index; the sync url is the repository's base url. */
export const notesImporter = defineImporter<NotesConfig>({
  name: 'notes',
  version: '1.0.0',
  hostApi: '^1.0.0',
  description: 'Notes listed in a notes.json index',
  contentTypes: [NOTE_TYPE],
  configSchema: NOTES_CONFIG_SCHEMA,
  firstStage: (ctx) => new NotesFirstStage(ctx),
});

export default notesImporter;
