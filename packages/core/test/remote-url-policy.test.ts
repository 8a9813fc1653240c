/**
 * Issue 19 item 1: urls built from remote metadata stay on the remote's scheme. RemoteUrlCheck, which
 * the conduit and the download stage run over every remote artifact url a plugin declares, accepts a
 * `file:` url only when the sync's feed is a `file:` url, and refuses it with a typed error naming
 * its owner and the url (never credentials), without looking at the file.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCodes, isTributaryError, type TributaryError } from '@tributary/plugin-api';
import { RemoteUrlCheck } from '../src/conduit/remote-url-check';
import { OriginLimiter } from '../src/download/origin-limiter';

function refusal(run: () => unknown): TributaryError | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (!isTributaryError(error)) throw error;
    return error;
  }
}

const OWNER = `'rpm.package' unit {"name":"tb-tools"}, artifact 'Packages/t/tb-tools.rpm'`;

describe('RemoteUrlCheck with the feed of the sync', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tributary-url-policy-'));
    await writeFile(path.join(dir, 'secret.txt'), Buffer.alloc(98_765, 's'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('an http(s) feed refuses file: urls with TRIBUTARY_ERR_PATH_UNSAFE naming the unit and the url', () => {
    const check = new RemoteUrlCheck('https://bob:hunter2@mirror.example/el9/?token=abc');
    const url = pathToFileURL(path.join(dir, 'secret.txt')).href;
    const error = refusal(() => check.check(url, () => OWNER));
    expect(error?.code).toBe(ErrorCodes.PATH_UNSAFE);
    expect(error?.message).toContain(OWNER);
    expect(error?.message).toContain(url);
    expect(error?.message).not.toContain('hunter2');
    expect(JSON.stringify(error?.details)).not.toContain('hunter2');
    expect(error?.message).not.toMatch(/\b98765\b/);
    expect(error?.details).toMatchObject({ url, owner: OWNER });
    // the same words whether the file exists or not: the check never looks at it
    const missing = pathToFileURL(path.join(dir, 'missing.txt')).href;
    const absent = refusal(() => check.check(missing, () => OWNER));
    expect(absent?.message.replace(missing, url)).toBe(error?.message);
    for (const other of ['FILE:///etc/passwd', 'file:/etc/shadow', 'file://localhost/etc/hosts', 'file:///etc/']) {
      expect([other, refusal(() => check.check(other))?.code]).toEqual([other, ErrorCodes.PATH_UNSAFE]);
    }
  });

  test('http and https on any host stay allowed (mirrors), in either order with file: urls, whatever was accepted before', () => {
    for (const feed of ['http://repo.example/el9/', 'https://repo.example/el9/']) {
      const check = new RemoteUrlCheck(feed);
      const urls = ['http://repo.example/a.rpm', 'https://mirror.other.example/a.rpm', 'file:///srv/a.rpm', 'http://repo.example/b.rpm', 'file:///srv/b.rpm', 'ftp://x.example/a'];
      const verdicts = [...urls, ...urls.reverse()].map((url) => [url, refusal(() => check.check(url))?.code]);
      for (const [url, code] of verdicts) {
        const expected = url!.startsWith('file:') ? ErrorCodes.PATH_UNSAFE : url!.startsWith('ftp:') ? ErrorCodes.URL_INVALID : undefined;
        expect([url, code]).toEqual([url, expected]);
      }
    }
  });

  test('a file: feed may name local files, and http(s) ones', () => {
    const check = new RemoteUrlCheck(pathToFileURL(path.join(dir, 'repo/')).href);
    for (const url of ['file:///srv/repo/a.rpm', pathToFileURL(path.join(dir, 'secret.txt')).href, 'https://mirror.example/a.rpm']) {
      expect([url, refusal(() => check.check(url))]).toEqual([url, undefined]);
    }
  });

  test('a refusal of an unknown owner still names the url; unsupported schemes stay TRIBUTARY_ERR_URL_INVALID, naming the owner', () => {
    const check = new RemoteUrlCheck('http://repo.example/');
    expect(refusal(() => check.check('file:///etc/passwd'))?.message).toMatch(/^remote url file:\/\/\/etc\/passwd names a local file/);
    const invalid = refusal(() => check.check('gopher://x.example/', OWNER));
    expect(invalid?.code).toBe(ErrorCodes.URL_INVALID);
    expect(invalid?.message).toContain(OWNER);
  });
});

describe('OriginLimiter priority', () => {
  test('a waiter with priority (a retry) is served before every waiter without, after earlier priority waiters', async () => {
    const limiter = new OriginLimiter(1);
    const hold = limiter.tryAcquire('http://a')!;
    const order: string[] = [];
    const wait = (name: string, priority: boolean) =>
      limiter.acquire('http://a', undefined, undefined, priority).then((release) => {
        order.push(name);
        release();
      });
    const all = Promise.all([wait('new-1', false), wait('new-2', false), wait('retry-1', true), wait('retry-2', true), wait('new-3', false)]);
    hold();
    await all;
    expect(order).toEqual(['retry-1', 'retry-2', 'new-1', 'new-2', 'new-3']);
  });
});
