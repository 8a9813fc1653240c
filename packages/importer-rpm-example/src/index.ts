import { rpmImporter } from './plugin.js';

export { rpmImporter };
export default rpmImporter;
export { RPM_CONFIG_DEFAULTS, RPM_CONFIG_SCHEMA, withConfigDefaults, type RpmImporterConfig } from './config.js';
export { RPM_ADVISORY, RPM_CONTENT_TYPES, RPM_PACKAGE, RPM_REPO_METADATA, rpmAdvisoryType, rpmPackageType, rpmRepoMetadataType } from './content-types.js';
export { RpmFirstStage } from './first-stage/rpm-first-stage.js';
export { detectCompression, readDecompressed, type MetadataCompression, type DecompressOptions } from './compression/metadata-compression.js';
export { readXmlRecords, type XmlElement, type XmlRecordSpec } from './xml/xml-record-reader.js';
export { parseRepomd, type Repomd, type RepomdRecord } from './metadata/repomd.js';
export { readMetadataRecords, type MetadataFile, type ReadMetadataOptions } from './metadata/metadata-file.js';
export { nevraOf, type Nevra, type PackageSizes, type PackageTimes, type PrimaryPackage } from './metadata/primary-package.js';
export { readPrimaryPackages, readPrimaryXml } from './metadata/primary-package-reader.js';
export { readPackageDetails, type PackageDetailsFiles } from './metadata/package-details-reader.js';
export type { Changelog, Dependency, PackageDetails, PackageFile } from './metadata/package-details.js';
export { readAdvisoriesInThread, readPrimaryPackagesInThread, type MetadataThreadOptions } from './metadata/metadata-thread-reader.js';
export { advisoryOf, UPDATEINFO_RECORDS, type Advisory, type AdvisoryPackage, type AdvisoryReference } from './metadata/updateinfo-advisory.js';
export { displayUrl, storedRelativePath, locationUrl, repositoryBaseUrl } from './metadata/location.js';
export { compareEvr, parseEvr, rpmvercmp, type Evr } from './version/rpm-version-compare.js';
