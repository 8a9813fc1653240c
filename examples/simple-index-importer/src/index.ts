import { defineImporter } from '@tributary/plugin-api';
import { simpleFileType } from './simple-content-type.js';
import { SimpleFirstStage } from './simple-first-stage.js';

/** Imports a PEP 503 "simple" index: sync with `--url https://host/simple/`. */
export const simpleIndexImporter = defineImporter({
  name: 'simple-index',
  version: '1.0.0',
  hostApi: '^1.0.0',
  contentTypes: [simpleFileType],
  configSchema: { type: 'object', properties: {}, additionalProperties: false },
  firstStage: (ctx) => new SimpleFirstStage(ctx),
});

export default simpleIndexImporter;
