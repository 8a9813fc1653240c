import type { ContentTypeDefinition } from '@tributary/plugin-api';

/**
 * One note. Its key is its name: what identifies the note upstream, and stays the same when the
 * note's title or text change. Everything else goes in metadata.
 */
export const NOTE_TYPE: ContentTypeDefinition = {
  id: 'notes.note',
  keyFields: ['name'],
  description: 'A note listed in a notes.json index.',
  metadataSchema: {
    type: 'object',
    required: ['title', 'size'],
    properties: {
      title: { type: 'string' },
      size: { type: 'integer', minimum: 0 },
    },
  },
};
