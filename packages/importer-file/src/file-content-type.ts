import type { ContentTypeDefinition } from '@tributary/plugin-api';

/** The unit type of a file repository: one file, identified by where it is and what it holds. */
export const FILE_CONTENT_TYPE: ContentTypeDefinition = {
  id: 'file',
  keyFields: ['relativePath', 'sha256'],
  description: 'A file listed in a PULP_MANIFEST: its path in the repository and its sha256.',
  metadataSchema: {
    type: 'object',
    properties: { size: { type: 'integer', minimum: 0 } },
    required: ['size'],
  },
};
