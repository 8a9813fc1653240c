import type { ContentTypeDefinition } from '@tributary/plugin-api';

export const RPM_PACKAGE = 'rpm.package';
export const RPM_ADVISORY = 'rpm.advisory';
export const RPM_REPO_METADATA = 'rpm.repo_metadata';

const stringArray = { type: 'array', items: { type: 'string' } } as const;
const optionalInt = { type: 'integer', minimum: 0 } as const;
const digests = { type: 'object', additionalProperties: { type: 'string' } } as const;
const nullableString = { type: ['string', 'null'] } as const;
/** A Dependency tuple (see package-details.ts): `[name, flags, epoch, ver, rel, pre]`, trailing fields left out. */
const dependencies = {
  type: 'array',
  items: { type: 'array', minItems: 1, maxItems: 6, items: [{ type: 'string' }, nullableString, nullableString, nullableString, nullableString, { const: true }] },
} as const;

/** A binary or source RPM, keyed like yum keys it: NEVRA plus the checksum of the file (pkgId). */
export const rpmPackageType: ContentTypeDefinition = {
  id: RPM_PACKAGE,
  keyFields: ['name', 'epoch', 'version', 'release', 'arch', 'checksumType', 'checksum'],
  description: 'An RPM package from a yum/dnf repository (one per <package> of primary.xml), with what primary, filelists and other say of it.',
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
      headerRange: { type: 'object', required: ['start', 'end'], properties: { start: optionalInt, end: optionalInt } },
      location: {
        type: 'object',
        required: ['href', 'relativePath'],
        properties: { href: { type: 'string' }, xmlBase: { type: 'string' }, relativePath: { type: 'string' } },
      },
      provides: { ...dependencies, description: "primary's <rpm:provides> entries: [name, flags, epoch, ver, rel, pre], trailing fields it does not give left out" },
      requires: dependencies,
      conflicts: { ...dependencies, description: 'left out when empty, as are the other lists of weak and negative dependencies' },
      obsoletes: dependencies,
      suggests: dependencies,
      enhances: dependencies,
      recommends: dependencies,
      supplements: dependencies,
      files: {
        type: 'array',
        description: "filelists' files of the package ([path] or [path, 'dir' | 'ghost']), or primary's when the repository has no filelists",
        items: { type: 'array', minItems: 1, maxItems: 2, items: [{ type: 'string' }, { type: 'string' }] },
      },
      changelogs: {
        type: 'array',
        description: "other's newest changelog entries (config changelogLimit), oldest first: [author, date, text]",
        items: { type: 'array', minItems: 3, maxItems: 3, items: [{ type: 'string' }, { type: 'integer', minimum: 0 }, { type: 'string' }] },
      },
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
      pushcount: { type: 'string' },
      rebootSuggested: { type: 'boolean' },
      collections: {
        type: 'array',
        description: "the pkglist's collections in order; packages name theirs by its short name",
        items: { type: 'object', properties: { short: { type: 'string' }, name: { type: 'string' }, module: { type: 'object', additionalProperties: { type: 'string' } } } },
      },
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
            restartSuggested: { type: 'boolean' },
            reloginSuggested: { type: 'boolean' },
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
