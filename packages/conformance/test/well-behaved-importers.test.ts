import { describeImporterConformance } from '@tributary/conformance';
import { KIT_FIXTURES, kitNotesConduitImporter, kitNotesImporter } from './fixtures/kit-notes-importer';

// The importers kit.test.ts breaks one way at a time pass every rule when they behave, in both styles.
describeImporterConformance({ plugin: kitNotesImporter('none'), fixtures: KIT_FIXTURES, suiteName: 'a well-behaved pipeline-style importer passes every rule' });
describeImporterConformance({ plugin: kitNotesConduitImporter('none'), fixtures: KIT_FIXTURES, suiteName: 'a well-behaved conduit-style importer passes every rule' });
