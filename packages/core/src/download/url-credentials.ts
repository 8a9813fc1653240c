/**
 * `url` without its userinfo (`user:password@`), for what is stored or shown: credentials are
 * kept only in the remote options a caller passes, never in the catalog. A url with none (the
 * common case) comes back as it is, without being parsed.
 */
export function withoutCredentials(url: string): string {
  const scheme = url.indexOf('://');
  if (scheme < 0) return url;
  const rest = url.slice(scheme + 3);
  const authorityEnd = rest.search(/[/?#\\]/);
  const at = rest.indexOf('@');
  if (at < 0 || (authorityEnd >= 0 && at > authorityEnd)) return url;
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.href;
  } catch {
    return url;
  }
}
