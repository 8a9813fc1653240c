import { defineImporter } from '@tributary/plugin-api';
import { fileImporterConfigSchema, type FileImporterConfig } from './file-config.js';
import { FILE_CONTENT_TYPE } from './file-content-type.js';
import { FileManifestStage } from './file-manifest-stage.js';
import { filePublisher } from './file-publisher.js';

/**
 * Imports a file repository described by a PULP_MANIFEST (`relative_path,sha256,size` per line).
 * The sync's url is the manifest's url, or its directory's ending in `/` (the importer then reads
 * PULP_MANIFEST there, as the rpm importer reads repodata/ under its url); files are fetched
 * relative to the manifest. Publishes the files plus a PULP_MANIFEST, so what it serves or exports
 * can be synced again.
 */
export const fileImporter = defineImporter<FileImporterConfig>({
  name: 'file',
  version: '0.1.0',
  hostApi: '^1.0.0',
  description: 'Files listed in a PULP_MANIFEST (relative_path,sha256,size per line).',
  contentTypes: [FILE_CONTENT_TYPE],
  configSchema: fileImporterConfigSchema,
  firstStage: (ctx) => new FileManifestStage(ctx),
  publisher: filePublisher,
});
