const SECRET_QUERY_KEY = /token|sig|signature|secret|passw|pwd|auth|credential|key|session/i;

/**
 * A url safe to put in a message or a log: userinfo removed, and the values of query parameters
 * whose names suggest a secret (signed-url signatures, tokens, keys) replaced by `***`. A string
 * that is not a url loses anything that looks like `user:pass@` and is cut short.
 *
 * @example
 * redactUrl('https://bob:hunter2@mirror.example/p?token=abc&arch=x86') // 'https://mirror.example/p?token=***&arch=x86'
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return String(url).replace(/\/\/[^/@\s]*@/g, '//').slice(0, 500);
  }
  return redactParsedUrl(parsed);
}

/** {@link redactUrl} for a url already parsed; the common case (no userinfo, no query) costs nothing. */
export function redactParsedUrl(url: URL): string {
  if (url.username === '' && url.password === '' && url.search === '') return url.href;
  const parsed = new URL(url.href);
  parsed.username = '';
  parsed.password = '';
  for (const key of [...parsed.searchParams.keys()]) {
    if (SECRET_QUERY_KEY.test(key)) parsed.searchParams.set(key, '***');
  }
  return parsed.href;
}
