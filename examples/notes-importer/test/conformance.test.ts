import path from 'node:path';
import { describeImporterConformance } from '@tributary/conformance';
import { notesImporter } from '../src/index.js';

describeImporterConformance({
  plugin: notesImporter,
  fixtures: {
    initial: { root: path.join(__dirname, 'fixtures', 'initial') },
    changed: { root: path.join(__dirname, 'fixtures', 'changed') },
  },
});
