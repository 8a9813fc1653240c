import { defineImporter } from '@tributary/plugin-api';
import { RPM_CONFIG_SCHEMA, type RpmImporterConfig } from './config.js';
import { RPM_CONTENT_TYPES } from './content-types.js';
import { RpmFirstStage } from './first-stage/rpm-first-stage.js';
import { rpmPublisher } from './publish/rpm-publisher.js';

/**
 * The `rpm` importer: syncs a yum/dnf repository (the directory holding `repodata/`) into
 * `rpm.package`, `rpm.advisory` and `rpm.repo_metadata` units, and publishes a version as a tree
 * dnf installs from, with repodata generated from its units (see rpm-publisher.ts).
 *
 * @example
 * ```ts
 * const host = await createHost({ store: { sqlite: 'catalog.db' }, storageRoot: 'storage', plugins: [rpmImporter] });
 * await host.sync('epel', { importer: 'rpm', url: 'https://mirror.example/epel/9/x86_64/' });
 * ```
 */
export const rpmImporter = defineImporter<RpmImporterConfig>({
  name: 'rpm',
  version: '0.1.0',
  hostApi: '^1.0.0',
  description: 'yum/dnf repositories: repomd.xml, primary, filelists, other, updateinfo; publishes repodata generated from a version (or upstream\'s)',
  contentTypes: RPM_CONTENT_TYPES,
  configSchema: RPM_CONFIG_SCHEMA,
  firstStage: (ctx) => new RpmFirstStage(ctx),
  publisher: rpmPublisher,
});
