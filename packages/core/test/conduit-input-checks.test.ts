import { ErrorCodes, isTributaryError } from '@tributary/plugin-api';
import { validateDigests, validLowerCaseDigests } from '../src/conduit/digests';
import { RemoteUrlCheck } from '../src/conduit/remote-url-check';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return isTributaryError(error) ? error.code : `untyped ${String(error)}`;
  }
}

describe('RemoteUrlCheck', () => {
  const urls = [
    'http://example.org/a/b.rpm',
    'http://example.org/a/c d.rpm',
    'http://example.org/%zz?#',
    'http://example.org:99999/x',
    'http://exa mple.org/x',
    'ftp://example.org/x',
    'example.org/x',
    'http://[::1/x',
    'https://user:pw@example.org:8443/x',
    'https://user:pw@example.org:8443/y?q=1#f',
    'file:///srv/repo/x',
    'FILE:///srv/repo/y',
    'http://example.org',
    'javascript:alert(1)',
    'http://example.org:80\\x/y',
  ];
  const expected = (url: string): string | undefined => {
    try {
      return ['http:', 'https:', 'file:'].includes(new URL(url).protocol) ? undefined : ErrorCodes.URL_INVALID;
    } catch {
      return ErrorCodes.URL_INVALID;
    }
  };

  it('accepts exactly the absolute http, https and file urls, whatever it accepted before', () => {
    // in order, in reverse and each after every other, so each verdict is checked with every prefix remembered
    const check = new RemoteUrlCheck();
    for (const url of [...urls, ...[...urls].reverse()]) expect([url, codeOf(() => check.check(url))]).toEqual([url, expected(url)]);
    for (const first of urls) {
      for (const second of urls) {
        const primed = new RemoteUrlCheck();
        codeOf(() => primed.check(first));
        expect([first, second, codeOf(() => primed.check(second))]).toEqual([first, second, expected(second)]);
      }
    }
  });
});

describe('conduit digests', () => {
  const sha256 = 'AB'.repeat(32);

  it('lower-cases valid digests and drops undefined ones', () => {
    expect(validLowerCaseDigests({ sha256, md5: undefined, sha1: 'f'.repeat(40) }, 'x')).toEqual({ sha256: 'ab'.repeat(32), sha1: 'f'.repeat(40) });
    expect(codeOf(() => validateDigests({ sha256, md5: '0123456789abcdefABCDEF0123456789' }, 'x'))).toBeUndefined();
  });

  it('refuses unknown algorithms, wrong lengths and characters that are not hex', () => {
    const bad: Record<string, unknown>[] = [
      { sha256: 'ab'.repeat(31) },
      { sha256: 'ab'.repeat(31) + 'gg' },
      { sha256: 'ab'.repeat(31) + 'a@' },
      { sha256: 'ab'.repeat(31) + 'a`' },
      { sha256: 'ab'.repeat(31) + 'aG' },
      { sha256: 'ab'.repeat(31) + 'a/' },
      { sha256: 'ab'.repeat(31) + 'a:' },
      { sha256: 64 },
      { md4: 'a'.repeat(32) },
      { md5: '' },
    ];
    for (const digests of bad) {
      expect([digests, codeOf(() => validateDigests(digests, 'x'))]).toEqual([digests, ErrorCodes.DIGEST_INVALID]);
      expect([digests, codeOf(() => validLowerCaseDigests(digests, 'x'))]).toEqual([digests, ErrorCodes.DIGEST_INVALID]);
    }
  });
});
