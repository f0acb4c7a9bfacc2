/**
 * Include/exclude patterns for restore and compare, anchored to the
 * snapshot-relative path ('dir/sub/file', no leading slash):
 *   `*` any characters within one path segment, `?` one character,
 *   `**` (a whole segment) zero or more segments.
 * A pattern selects a path when it matches the path or one of its ancestors,
 * so `docs` selects everything below docs too.
 */
import { InvalidInput } from '../../errors';

type Segment = '**' | RegExp;

export interface Glob {
  readonly source: string;
  readonly segments: readonly Segment[];
}

const REGEXP_SYNTAX = /[\^$\\.*+?()[\]{}|/]/g;

function compileSegment(segment: string): Segment {
  if (segment === '**') return '**';
  let source = '';
  for (const char of segment) {
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else source += char.replace(REGEXP_SYNTAX, '\\$&');
  }
  // 's': names may contain newlines; 'u': '?' is one code point.
  return new RegExp(`^${source}$`, 'su');
}

export function compileGlob(pattern: string): Glob {
  const trimmed = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '' || pattern.includes('\0')) throw new InvalidInput(`invalid path pattern ${JSON.stringify(pattern)}`);
  const segments = trimmed.split(/\/+/).map(compileSegment);
  return { source: pattern, segments };
}

function segmentMatches(segment: Segment, name: string): boolean {
  return segment === '**' || segment.test(name);
}

/** Whether the glob matches exactly this path (given as segments). */
export function globMatches(glob: Glob, path: readonly string[]): boolean {
  const pat = glob.segments;
  const memo = new Map<number, boolean>();
  const match = (i: number, j: number): boolean => {
    const key = i * (path.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === pat.length) result = j === path.length;
    else if (pat[i] === '**') result = match(i + 1, j) || (j < path.length && match(i, j + 1));
    else result = j < path.length && segmentMatches(pat[i], path[j]) && match(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return match(0, 0);
}

/** Whether some path strictly below this directory could match the glob. */
export function globCouldMatchBelow(glob: Glob, dir: readonly string[]): boolean {
  const pat = glob.segments;
  const memo = new Map<number, boolean>();
  const match = (i: number, j: number): boolean => {
    const key = i * (dir.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (j === dir.length) result = i < pat.length;
    else if (i === pat.length) result = false;
    else if (pat[i] === '**') result = match(i + 1, j) || match(i, j + 1);
    else result = segmentMatches(pat[i], dir[j]) && match(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return match(0, 0);
}

/** The include/exclude decision for restore and compare. */
export class PathFilter {
  private readonly includes: readonly Glob[];
  private readonly excludes: readonly Glob[];

  constructor(include: readonly string[] = [], exclude: readonly string[] = []) {
    this.includes = include.map(compileGlob);
    this.excludes = exclude.map(compileGlob);
  }

  get selectsEverything(): boolean {
    return this.includes.length === 0 && this.excludes.length === 0;
  }

  /** True when the path or an ancestor matches one of the globs. */
  private static hitsSelfOrAncestor(globs: readonly Glob[], path: readonly string[]): boolean {
    for (let n = 1; n <= path.length; n++) {
      const prefix = path.slice(0, n);
      if (globs.some((glob) => globMatches(glob, prefix))) return true;
    }
    return false;
  }

  /** Whether this entry itself is restored. */
  selects(path: readonly string[]): boolean {
    if (PathFilter.hitsSelfOrAncestor(this.excludes, path)) return false;
    return this.includes.length === 0 || PathFilter.hitsSelfOrAncestor(this.includes, path);
  }

  /** Whether a directory is worth entering: it is selected, or something below it could be. */
  descends(dir: readonly string[]): boolean {
    if (PathFilter.hitsSelfOrAncestor(this.excludes, dir)) return false;
    if (this.includes.length === 0 || PathFilter.hitsSelfOrAncestor(this.includes, dir)) return true;
    return this.includes.some((glob) => globCouldMatchBelow(glob, dir));
  }
}
