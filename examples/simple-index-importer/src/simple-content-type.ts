import type { ContentTypeDefinition } from '@tributary/plugin-api';

export const SIMPLE_FILE_TYPE = 'simple.file';

/** A distribution file of a project: keyed by project and file name, which PEP 503 makes unique. */
export const simpleFileType: ContentTypeDefinition = {
  id: SIMPLE_FILE_TYPE,
  keyFields: ['project', 'filename'],
  metadataSchema: {
    type: 'object',
    properties: { requiresPython: { type: 'string' } },
    additionalProperties: false,
  },
};
