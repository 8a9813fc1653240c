/**
 * End-to-end, issue 19 item 1: remote metadata must not make Tributary read local files. A
 * createrepo_c repository served over HTTP on 127.0.0.1 whose primary points a package at
 * `file:///…` (by its `<location href>` or by `xml:base`) fails the sync with
 * TRIBUTARY_ERR_PATH_UNSAFE naming the package, stores nothing, and says nothing about the local
 * file: not its size, not whether it exists. A repository synced from a `file:` feed may still
 * name local files.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Host } from '@tributary/core';
import { rootTributaryError } from '@tributary/plugin-api';
import { replaceMetadata } from './fixtures/rpm/build-rpm-repo.js';
import { RpmSyncHarness, type SyncSettings } from './fixtures/rpm/rpm-sync-harness.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** A size that no port, hex digest or temp name in a message would spell out by chance. */
const SECRET_SIZE = 98_765;
const TARGET = 'tb-tools';

let h: RpmSyncHarness;
let secretDir: string;
let secretFile: string;
let secret: Buffer;
let counter = 0;

beforeAll(async () => {
  h = await RpmSyncHarness.start();
  secretDir = path.join(h.work, 'outside the repository');
  await mkdir(secretDir, { recursive: true });
  secretFile = path.join(secretDir, 'secret.txt');
  secret = Buffer.alloc(SECRET_SIZE, 'top secret local file\n');
  await writeFile(secretFile, secret);
});
afterAll(async () => {
  await h?.close();
});

interface Location {
  /** The whole `<location …/>` element to put in place of tb-tools' own. */
  readonly element: string;
  readonly sha256?: string;
  readonly size?: number;
}

/** A copy of the base repository whose primary gives tb-tools `location` (and that checksum and size). */
async function hostileRepo(location: Location): Promise<string> {
  const dir = path.join(h.upstream, `hostile-${++counter}`, 'repo');
  await cp(h.base.dir, dir, { recursive: true });
  const repomd = await readFile(path.join(dir, 'repodata', 'repomd.xml'), 'utf8');
  const primaryHref = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)![1]!;
  const xml = gunzipSync(await readFile(path.join(dir, primaryHref))).toString('utf8');
  let found = false;
  const rewritten = xml.replace(/<package type="rpm">[\s\S]*?<\/package>/g, (block) => {
    if (!block.includes(`<name>${TARGET}</name>`)) return block;
    found = true;
    return block
      .replace(/<location [^>]*\/>/, location.element)
      .replace(/(<checksum type="sha256" pkgid="YES">)[0-9a-f]+(<\/checksum>)/, `$1${location.sha256 ?? sha256(secret)}$2`)
      .replace(/<size package="\d+"/, `<size package="${location.size ?? SECRET_SIZE}"`);
  });
  expect(found).toBe(true);
  await replaceMetadata(dir, 'primary', { bytes: gzipSync(rewritten), fileName: 'hostile-primary.xml.gz', open: Buffer.from(rewritten) });
  return dir;
}

/** Everything a failure exposes: messages, details and JSON of the error and its causes. */
function exposed(error: unknown): string {
  const parts: string[] = [];
  for (let current = error as Record<string, unknown> | undefined, depth = 0; current && depth < 6; depth++) {
    parts.push(String(current['message']), JSON.stringify(current['details'] ?? {}));
    current = current['cause'] as Record<string, unknown> | undefined;
  }
  return parts.join('\n');
}

/** Every regular file under a directory, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  const files: string[] = [];
  for (const name of names) {
    const file = path.join(dir, String(name));
    if ((await stat(file)).isFile()) files.push(file);
  }
  return files;
}

/** Syncs the repository on a host of its own and expects the refusal; returns the error. */
async function expectRefused(url: string, settings: SyncSettings = { policy: 'immediate' }): Promise<{ error: unknown; host: Host; hostDir: string }> {
  const name = `guarded-${++counter}`;
  const host = await h.freshHost(name);
  const error = await h.sync('guarded', url, settings, host).then(
    () => new Error('the sync succeeded'),
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ code: 'TRIBUTARY_ERR_SYNC_FAILED', details: { causeCode: 'TRIBUTARY_ERR_PATH_UNSAFE' } });
  expect(rootTributaryError(error)?.code).toBe('TRIBUTARY_ERR_PATH_UNSAFE');
  const text = exposed(error);
  expect(text).not.toMatch(/\b98765\b/);
  expect(text).not.toContain('ENOENT');
  expect(text).not.toContain('top secret');
  // nothing stored: no version, no unit, and the secret's bytes nowhere in the host's storage
  expect((await host.getRepository('guarded')).latestVersion).toBe(0);
  expect(await h.units('guarded', undefined, host)).toEqual([]);
  const hostDir = path.join(h.work, `host-${name}`);
  for (const file of await filesUnder(hostDir)) {
    expect([file, path.basename(file).includes(sha256(secret))]).toEqual([file, false]);
    if ((await stat(file)).size === SECRET_SIZE) expect([file, (await readFile(file)).equals(secret)]).toEqual([file, false]);
  }
  return { error, host, hostDir };
}

const secretUrl = () => pathToFileURL(secretFile).href;

describe('an http feed whose primary points a package at a local file', () => {
  test('location href="file:///…" with the file\'s sha256 and size: refused, naming the package, nothing stored', async () => {
    const dir = await hostileRepo({ element: `<location href="${secretUrl()}"/>` });
    const { error } = await expectRefused(h.urlOf(dir));
    const root = rootTributaryError(error)!;
    expect(root.message).toContain(TARGET);
    expect(root.message).toContain(secretUrl());
  });

  test('xml:base="file:///…/" with a plain href: refused the same way', async () => {
    const base = `${pathToFileURL(secretDir).href}/`;
    const dir = await hostileRepo({ element: `<location xml:base="${base}" href="secret.txt"/>` });
    const { error } = await expectRefused(h.urlOf(dir));
    expect(rootTributaryError(error)!.message).toContain(TARGET);
  });

  test('xml:base="file:///etc/": refused without a look at /etc', async () => {
    const dir = await hostileRepo({ element: '<location xml:base="file:///etc/" href="hostname"/>', sha256: 'ab'.repeat(32), size: 12 });
    const { error } = await expectRefused(h.urlOf(dir));
    expect(rootTributaryError(error)!.message).toContain(TARGET);
  });

  test('a wrong digest and size: refused alike, the local file\'s size never shows', async () => {
    const dir = await hostileRepo({ element: `<location href="${secretUrl()}"/>`, sha256: 'cd'.repeat(32), size: 1234 });
    const { error } = await expectRefused(h.urlOf(dir));
    expect(rootTributaryError(error)!.message).toContain(TARGET);
  });

  test('a missing local file: the same refusal, its absence never shows', async () => {
    const present = await expectRefused(h.urlOf(await hostileRepo({ element: `<location href="${secretUrl()}"/>` })));
    const missingUrl = pathToFileURL(path.join(secretDir, 'no-such-file.txt')).href;
    const absent = await expectRefused(h.urlOf(await hostileRepo({ element: `<location href="${missingUrl}"/>` })));
    // the two messages differ in the file's name (and the repository's) only
    const shape = (error: unknown, name: string) =>
      rootTributaryError(error)!
        .message.split(name)
        .join('<name>')
        .replace(/hostile-\d+/g, 'hostile-N');
    expect(shape(absent.error, 'no-such-file.txt')).toBe(shape(present.error, 'secret.txt'));
  });

  test('an on_demand sync refuses to record the local url, naming the package', async () => {
    const dir = await hostileRepo({ element: `<location href="${secretUrl()}"/>` });
    const { error } = await expectRefused(h.urlOf(dir), { policy: 'on_demand' });
    expect(rootTributaryError(error)!.message).toContain(TARGET);
  });

  test('repomd pointing primary itself at a local file: the importer\'s own fetch is refused too', async () => {
    const dir = path.join(h.upstream, `hostile-${++counter}`, 'repo');
    await cp(h.base.dir, dir, { recursive: true });
    const repomdPath = path.join(dir, 'repodata', 'repomd.xml');
    const repomd = await readFile(repomdPath, 'utf8');
    const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)![1]!;
    const local = pathToFileURL(path.join(dir, href)).href;
    await writeFile(repomdPath, repomd.replace(`<location href="${href}"`, `<location href="${local}"`));
    const { error } = await expectRefused(h.urlOf(dir));
    expect(rootTributaryError(error)!.message).toContain(local);
  });
});

test('a file: feed may name local files: the same repository synced from its directory stores the file', async () => {
  const dir = await hostileRepo({ element: `<location href="${secretUrl()}"/>` });
  const host = await h.freshHost(`file-feed-${++counter}`);
  const outcome = await h.sync('local', `${pathToFileURL(dir).href}/`, { policy: 'immediate' }, host);
  expect(outcome.version).toBe(1);
  const tools = (await h.units('local', 'rpm.package', host)).find((u) => u.key['name'] === TARGET);
  expect(tools?.artifacts[0]).toMatchObject({ sha256: sha256(secret), stored: true });
});
