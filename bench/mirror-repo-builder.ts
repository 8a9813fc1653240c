/**
 * Builds, once, a real yum repository for bench:mirror: COUNT noarch RPMs made by rpmbuild, each
 * carrying SIZE bytes of random payload, indexed by createrepo_c. Cached under
 * `.cache/bench-mirror/COUNTxSIZE/` (the repository is `repo/` in it), so only the first run pays
 * for the build.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const CACHE = path.resolve(__dirname, '../bench-mirror');

/**
 * One spec of COUNT subpackages, so one rpmbuild builds them all. The payload is random (it does
 * not compress) and written uncompressed (w0.gzdio), so the build costs little beyond the bytes.
 */
function specOf(count: number, size: number): string {
  const lines = [
    'Name: tb-mirror',
    'Version: 1.0',
    'Release: 1',
    'Summary: bench:mirror packages',
    'License: MIT',
    'BuildArch: noarch',
    '%define _binary_payload w0.gzdio',
    '%define __os_install_post %{nil}',
    '%description',
    'Packages for bench:mirror.',
  ];
  for (let i = 0; i < count; i++) {
    lines.push(`%package -n tb-mirror-${i}`, `Summary: bench:mirror package ${i}`, `%description -n tb-mirror-${i}`, `Random payload ${i}.`);
  }
  lines.push(
    '%install',
    'mkdir -p %{buildroot}/usr/share/tb-mirror',
    `for i in $(seq 0 ${count - 1}); do head -c ${size} /dev/urandom > %{buildroot}/usr/share/tb-mirror/payload-$i.bin; done`,
  );
  for (let i = 0; i < count; i++) lines.push(`%files -n tb-mirror-${i}`, `/usr/share/tb-mirror/payload-${i}.bin`);
  return `${lines.join('\n')}\n`;
}

/** The repository's directory (with `repodata/`), built when not cached. */
export async function buildMirrorRepo(count: number, size: number, log: (line: string) => void): Promise<string> {
  const dir = path.join(CACHE, `${count}x${size}`);
  const repo = path.join(dir, 'repo');
  if (existsSync(path.join(repo, 'repodata', 'repomd.xml'))) return repo;
  log(`building ${count} RPMs of ${size} random bytes with rpmbuild + createrepo_c (once, cached in ${dir})…`);
  await mkdir(CACHE, { recursive: true });
  const topdir = await mkdtemp(path.join(CACHE, '.build-'));
  try {
    const specPath = path.join(topdir, 'tb-mirror.spec');
    await writeFile(specPath, specOf(count, size));
    await run('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${topdir}`, '--define', '_build_id_links none', specPath], { maxBuffer: 64 << 20 });
    const built = path.join(topdir, 'RPMS', 'noarch');
    const rpms = (await readdir(built)).filter((f) => f.startsWith('tb-mirror-') && f.endsWith('.rpm'));
    if (rpms.length !== count) throw new Error(`rpmbuild made ${rpms.length} packages, expected ${count}`);
    await run('createrepo_c', ['--quiet', built]);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await rename(built, repo);
  } finally {
    await rm(topdir, { recursive: true, force: true });
  }
  return repo;
}
