/**
 * Compiles a fault target into a matcher over request paths. A target without `*` or `?` names one
 * path exactly; `*` matches within a segment, `**` across segments, `?` one character. Targets are
 * compared without their leading `/`, so `'PULP_MANIFEST'` and `'/PULP_MANIFEST'` are the same.
 */
export function compilePathGlob(target: string): (path: string) => boolean {
  const pattern = stripLeadingSlash(target);
  if (!/[*?]/.test(pattern)) return (path) => stripLeadingSlash(path) === pattern;
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '*' && pattern[i + 1] === '*') {
      // `**/` also matches zero directories, so `**/x` matches `x`
      if (pattern[i + 2] === '/') {
        source += '(?:.*/)?';
        i += 2;
      } else {
        source += '.*';
        i += 1;
      }
    } else if (char === '*') {
      source += '[^/]*';
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  const regex = new RegExp(`^${source}$`, 's');
  return (path) => regex.test(stripLeadingSlash(path));
}

function stripLeadingSlash(path: string): string {
  return path.startsWith('/') ? path.slice(1) : path;
}
