import type { JsonSchema } from '@tributary/plugin-api';

/** Per-repository settings of the notes importer. */
export interface NotesConfig {
  /** Name of the index file, relative to the repository url. */
  readonly indexFile: string;
}

/** The host validates every config against this before a sync starts, and fills in defaults. */
export const NOTES_CONFIG_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    indexFile: { type: 'string', minLength: 1, default: 'notes.json' },
  },
  additionalProperties: false,
};
