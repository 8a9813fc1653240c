import type { ContentTypeDefinition } from '@tributary/plugin-api';

export const RPM_PACKAGE = 'rpm.package';
export const RPM_ADVISORY = 'rpm.advisory';
export const RPM_REPO_METADATA = 'rpm.repo_metadata';

const stringArray = { type: 'array', items: { type: 'string' } } as const;
const optionalInt = { type: 'integer', minimum: 0 } as const;
const digests = { type: 'object', additionalProperties: { type: 'string' } } as const;

/** A binary or source RPM, keyed like yum keys it: NEVRA plus the checksum of the file (pkgId). */
export const rpmPackageType: ContentTypeDefinition = {
  id: RPM_PACKAGE,
  keyFields: ['name', 'epoch', 'version', 'release', 'arch', 'checksumType', 'checksum'],
  description: 'An RPM package from a yum/dnf repository (one per <package> of primary.xml).',
  metadataSchema: {
    type: 'object',
    required: ['summary', 'location'],
    properties: {
      summary: { type: 'string' },
      description: { type: 'string' },
      url: { type: 'string' },
      packager: { type: 'string' },
      license: { type: 'string' },
      vendor: { type: 'string' },
      group: { type: 'string' },
      buildhost: { type: 'string' },
      sourcerpm: { type: 'string' },
      size: { type: 'object', properties: { package: optionalInt, installed: optionalInt, archive: optionalInt } },
      time: { type: 'object', properties: { file: optionalInt, build: optionalInt } },
      location: {
        type: 'object',
        required: ['href', 'relativePath'],
        properties: { href: { type: 'string' }, xmlBase: { type: 'string' }, relativePath: { type: 'string' } },
      },
      provides: stringArray,
      requires: stringArray,
    },
  },
};

/** An errata entry of updateinfo.xml, linked to the package units of the same sync it names. */
export const rpmAdvisoryType: ContentTypeDefinition = {
  id: RPM_ADVISORY,
  keyFields: ['id'],
  description: 'An advisory (erratum) from updateinfo.xml.',
  metadataSchema: {
    type: 'object',
    required: ['type', 'title', 'references', 'packages', 'packageUnitIds'],
    properties: {
      type: { type: 'string' },
      status: { type: 'string' },
      severity: { type: 'string' },
      title: { type: 'string' },
      summary: { type: 'string' },
      description: { type: 'string' },
      solution: { type: 'string' },
      release: { type: 'string' },
      rights: { type: 'string' },
      issued: { type: 'string' },
      updated: { type: 'string' },
      from: { type: 'string' },
      version: { type: 'string' },
      references: {
        type: 'array',
        items: { type: 'object', properties: { href: { type: 'string' }, id: { type: 'string' }, type: { type: 'string' }, title: { type: 'string' } } },
      },
      packages: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'epoch', 'version', 'release', 'arch'],
          properties: {
            name: { type: 'string' },
            epoch: { type: 'string' },
            version: { type: 'string' },
            release: { type: 'string' },
            arch: { type: 'string' },
            src: { type: 'string' },
            filename: { type: 'string' },
            sum: { type: 'object', properties: { type: { type: 'string' }, value: { type: 'string' } } },
            rebootSuggested: { type: 'boolean' },
            collection: { type: 'string' },
          },
        },
      },
      packageUnitIds: { ...stringArray, description: 'ids of the rpm.package units of the same sync that the advisory lists' },
    },
  },
};

/**
 * One file of the repository's metadata: a `<data>` record of repomd.xml (`dataType` its type), or
 * repomd.xml itself (`dataType` `repomd`). The checksum is part of the key so a unit's bytes never
 * change: a new revision upstream is a new unit, and the old one stays in the versions that had it.
 */
export const rpmRepoMetadataType: ContentTypeDefinition = {
  id: RPM_REPO_METADATA,
  keyFields: ['dataType', 'relativePath', 'checksumType', 'checksum'],
  description: 'A repository metadata file (repomd.xml, primary, filelists, other, updateinfo, comps, modules, …).',
  metadataSchema: {
    type: 'object',
    required: ['href'],
    properties: {
      href: { type: 'string' },
      xmlBase: { type: 'string' },
      digests,
      openDigests: digests,
      size: optionalInt,
      openSize: optionalInt,
      timestamp: optionalInt,
      revision: { type: 'string' },
    },
  },
};

export const RPM_CONTENT_TYPES: readonly ContentTypeDefinition[] = [rpmPackageType, rpmAdvisoryType, rpmRepoMetadataType];
