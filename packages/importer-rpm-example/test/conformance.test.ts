import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeImporterConformance } from '@tributary/conformance';
import { rpmImporter } from '@tributary/importer-rpm-example';
import { buildRpmRepo } from '../../../test/fixtures/rpm/build-rpm-repo.js';

let work: string | undefined;
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describeImporterConformance({
  plugin: rpmImporter,
  // Built with rpmbuild and createrepo_c on first use. From the initial to the changed state
  // tb-hello 1.1 arrives (a new artifact, and the security advisory now links it: a metadata
  // update) and tb-extras disappears.
  fixtures: async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'rpm-conformance-'));
    const initial = await buildRpmRepo(path.join(work, 'initial'), { updateinfo: true, exclude: ['tb-hello-1.1-1.noarch.rpm'] });
    const changed = await buildRpmRepo(path.join(work, 'changed'), { updateinfo: true, exclude: ['tb-extras-0.9-2.noarch.rpm'] });
    return { initial: { root: initial.dir }, changed: { root: changed.dir }, feedPath: '' };
  },
  // repomd.xml, primary, updateinfo…: the importer reads them, so even an on_demand sync downloads them
  alwaysDownloadedTypes: ['rpm.repo_metadata'],
  // and a sync replaces the metadata files of the previous revision, mirror or not
  replacedTypes: ['rpm.repo_metadata'],
});
