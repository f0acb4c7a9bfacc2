/**
 * Exclude patterns. A pattern without '/' matches an entry's name anywhere;
 * with '/', it matches the path relative to its source (a leading '/' anchors
 * it to the absolute path). `*` and `?` stay inside one segment, `**` crosses
 * segments. A matching directory is skipped with everything below it.
 */
import { InvalidInput } from '../../errors';

export interface Matcher {
  matches(name: string, relPath: string, absPath: string): boolean;
}

function toRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
        if (glob[i + 1] === '/') i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

export function compileExcludes(patterns: readonly string[]): Matcher {
  const compiled = patterns.map((p) => {
    if (p === '' || p.includes('\0')) throw new InvalidInput(`invalid exclude pattern ${JSON.stringify(p)}`);
    return { re: toRegExp(p.startsWith('/') ? p : p.replace(/\/+$/, '')), kind: p.startsWith('/') ? ('abs' as const) : p.includes('/') ? ('rel' as const) : ('name' as const) };
  });
  return {
    matches(name, relPath, absPath) {
      return compiled.some(({ re, kind }) => re.test(kind === 'name' ? name : kind === 'rel' ? relPath : absPath));
    },
  };
}
