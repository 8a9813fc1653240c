import { fileImporter } from './file-importer.js';

export { fileImporter };
export default fileImporter;
export { FILE_CONTENT_TYPE } from './file-content-type.js';
export { DEFAULT_MAX_MANIFEST_BYTES, fileImporterConfigSchema, type FileImporterConfig } from './file-config.js';
export { FileManifestStage, UNCHANGED_REASON } from './file-manifest-stage.js';
export { parseManifestLine, type ManifestEntry } from './manifest-entry.js';
export { readManifestLines, DEFAULT_MAX_LINE_BYTES, type ManifestLine, type ManifestLinesOptions } from './manifest-lines.js';
export { readManifest, readManifestBatches } from './read-manifest.js';
export { scanManifest, type ManifestScan, type ManifestScanOptions } from './manifest-scan.js';
export { pathHash } from './path-hash.js';
