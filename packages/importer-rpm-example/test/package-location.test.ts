import { displayUrl, locationUrl, repositoryBaseUrl, storedRelativePath } from '@tributary/importer-rpm-example';

describe('stored relative paths derived from location hrefs', () => {
  test.each([
    ['Packages/a/abc-1-1.noarch.rpm', 'Packages/a/abc-1-1.noarch.rpm'],
    ['./Packages//a/./abc.rpm', 'Packages/a/abc.rpm'],
    ['Packages/x/../a/abc.rpm', 'Packages/a/abc.rpm'],
    ['../pool/a.rpm', '_parent/pool/a.rpm'],
    ['../../a.rpm', '_parent/_parent/a.rpm'],
    ['x/../../a.rpm', '_parent/a.rpm'],
    ['/pub/el9/a.rpm', '_root/pub/el9/a.rpm'],
    ['https://mirror.invalid:8443/el9/a%20b.rpm', '_external/mirror.invalid:8443/el9/a b.rpm'],
  ])('%s is stored as %s', (href, expected) => {
    const stored = storedRelativePath(href);
    expect(stored).toBe(expected);
    expect(stored.split('/')).not.toContain('..');
  });
});

describe('location urls', () => {
  const base = repositoryBaseUrl('http://127.0.0.1:8080/repos/el9');

  test('the feed url gets a trailing slash so hrefs resolve under it', () => {
    expect(base).toBe('http://127.0.0.1:8080/repos/el9/');
    expect(locationUrl('Packages/a.rpm', undefined, base, 't')).toBe('http://127.0.0.1:8080/repos/el9/Packages/a.rpm');
  });

  test('../ climbs from the base url', () => {
    expect(locationUrl('../pool/a.rpm', undefined, base, 't')).toBe('http://127.0.0.1:8080/repos/pool/a.rpm');
  });

  test('xml:base replaces the base url, with or without its trailing slash', () => {
    expect(locationUrl('Packages/a.rpm', 'http://mirror.invalid/el9', base, 't')).toBe('http://mirror.invalid/el9/Packages/a.rpm');
    expect(locationUrl('Packages/a.rpm', 'http://mirror.invalid/el9/', base, 't')).toBe('http://mirror.invalid/el9/Packages/a.rpm');
  });

  test('a relative xml:base resolves against the base url', () => {
    expect(locationUrl('a.rpm', '../other/', base, 't')).toBe('http://127.0.0.1:8080/repos/other/a.rpm');
  });

  test('every href resolves as URL resolution says, whatever its characters and the base', () => {
    const hrefs = ['Packages/a/abc-1.0-1.fc40.x86_64.rpm', 'a^b~c+d@e!f$g&h\'i(j)k*l,m;n=o.rpm', 'a b.rpm', 'a%20b.rpm', 'a#b.rpm', 'a?b.rpm', 'a:b.rpm', 'a|b.rpm', 'ä.rpm',
      'a\\b.rpm', './a.rpm', 'x/../a.rpm', '//host/a.rpm', '/abs/a.rpm', 'https://other.invalid/a.rpm', 'a{b}.rpm', 'a"b.rpm'];
    const bases = [base, 'http://127.0.0.1:8080/repos/el9/?token=abc', 'file:///srv/repo/', 'https://user:pw@mirror.invalid/a/b/', 'http://127.0.0.1:8080/repos/el9'];
    for (const b of bases) for (const href of hrefs) expect([b, href, locationUrl(href, undefined, b, 't')]).toEqual([b, href, new URL(href, b).toString()]);
  });

  test('an unusable url is a typed error', () => {
    expect(() => locationUrl('a.rpm', 'http://[::1', base, 'primary line 3')).toThrow(expect.objectContaining({ code: 'TRIBUTARY_ERR_URL_INVALID' }));
  });
});

describe('urls in messages', () => {
  test('lose their credentials and query', () => {
    expect(displayUrl('https://user:secret@mirror.invalid/el9/?token=abc')).toBe('https://mirror.invalid/el9/?…');
    expect(displayUrl('not a url')).toBe('(an invalid url)');
  });
});
