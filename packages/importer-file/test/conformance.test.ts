import { createHash } from 'node:crypto';
import { describeImporterConformance } from '@tributary/conformance';
import { fileImporter } from '@tributary/importer-file';

/** A file repository: the files, and a PULP_MANIFEST listing them. */
function fileRepository(files: Record<string, string>): Record<string, string> {
  const manifest = Object.entries(files)
    .map(([relativePath, body]) => `${relativePath},${createHash('sha256').update(body).digest('hex')},${Buffer.byteLength(body)}`)
    .join('\n');
  return { ...files, PULP_MANIFEST: `${manifest}\n` };
}

const kept = {
  'hello.txt': 'hello, world\n',
  'docs/guide.md': '# Guide\n\nRead me first.\n',
  'data/table.csv': 'id,name\n1,one\n2,two\n',
};

describeImporterConformance({
  plugin: fileImporter,
  fixtures: {
    feedPath: 'PULP_MANIFEST',
    initial: { files: fileRepository({ ...kept, 'release-notes-1.0.txt': 'first release\n', 'iso/disk-1.img': 'disk one '.repeat(200) }) },
    // a file gone, a file new, and one path whose content changed (a new unit by key: path + sha256)
    changed: { files: fileRepository({ ...kept, 'release-notes-1.1.txt': 'second release\n', 'iso/disk-1.img': 'disk one, respun '.repeat(200) }) },
  },
});
