import { describeImporterConformance } from '@tributary/conformance';
import { simpleIndexImporter } from '../src/index.js';
import { SIMPLE_FIXTURES } from './simple-fixtures.js';

describeImporterConformance({ plugin: simpleIndexImporter, fixtures: SIMPLE_FIXTURES });
