import type { JsonSchema } from '@tributary/plugin-api';

/** Per-repository settings of the file importer. */
export interface FileImporterConfig {
  /** The manifest download is refused beyond this size. */
  readonly maxManifestBytes?: number;
}

/** 200,000 entries of ~100 bytes are 20 MB; the default leaves room for long paths. */
export const DEFAULT_MAX_MANIFEST_BYTES = 512 * 1024 * 1024;

export const fileImporterConfigSchema: JsonSchema = {
  type: 'object',
  properties: {
    maxManifestBytes: {
      type: 'integer',
      minimum: 1,
      default: DEFAULT_MAX_MANIFEST_BYTES,
      description: 'Largest PULP_MANIFEST accepted, in bytes.',
    },
  },
  additionalProperties: false,
};
