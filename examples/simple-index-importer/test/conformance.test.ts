import { describeImporterConformance } from '@tributary/conformance';
import { simpleIndexImporter } from '../src/index.js';
import { largeSimpleIndex, SIMPLE_FIXTURES } from './simple-fixtures.js';

describeImporterConformance({
  plugin: simpleIndexImporter,
  fixtures: SIMPLE_FIXTURES,
  // rule heap-bounded: a sync of 10,000 files grows the live heap by ~6.5 MiB
  heapBudget: { fixture: largeSimpleIndex, maxGrowthMiB: 28 },
});
