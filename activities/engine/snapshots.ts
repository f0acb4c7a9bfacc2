/** Listing and resolving snapshot references ('latest', id prefixes, points in time). */
import { InvalidInput } from '../errors';
import { IntegrityError } from '../crypto/errors';
import { SnapshotNotFound } from '../repository/errors';
import type { SnapshotSummary } from './api';
import type { RepoCore } from './core';

export interface SnapshotFilter {
  readonly host?: string;
  readonly tags?: readonly string[];
  readonly paths?: readonly string[];
}

export function matchesFilter(s: SnapshotSummary, filter: SnapshotFilter = {}): boolean {
  if (filter.host !== undefined && s.host !== filter.host) return false;
  if (filter.tags !== undefined && !filter.tags.every((t) => s.tags.includes(t))) return false;
  if (filter.paths !== undefined) {
    const a = [...s.paths].sort();
    const b = [...filter.paths].sort();
    if (a.length !== b.length || a.some((p, i) => p !== b[i])) return false;
  }
  return true;
}

export async function resolveSnapshot(core: RepoCore, ref: string | { readonly asOf: string }, filter: SnapshotFilter = {}): Promise<SnapshotSummary> {
  // A damaged snapshot object must not hide the intact ones: collect the
  // unreadable objects and decide below whether they could be the one asked for.
  const unreadable: { name: string; err: unknown }[] = [];
  const all = (await core.loadSnapshots((name, err) => unreadable.push({ name, err }))).filter((s) => matchesFilter(s, filter));
  const what = filter.host !== undefined || filter.tags !== undefined ? ' matching the filter' : '';
  const refuseIfAnyUnreadable = (): void => {
    // 'latest' and points in time cannot rule a damaged snapshot out (its time
    // is inside the ciphertext): answering with an older one would be silent data loss.
    const first = unreadable[0];
    if (first !== undefined) throw damaged(first, unreadable.length, 'restore by snapshot id, or run coffer verify to see the damage');
  };
  if (typeof ref !== 'string') {
    refuseIfAnyUnreadable();
    const limit = Date.parse(ref.asOf);
    if (Number.isNaN(limit)) throw new InvalidInput(`invalid point in time ${JSON.stringify(ref.asOf)}`);
    const found = all.filter((s) => Date.parse(s.time) <= limit).pop();
    if (found === undefined) throw new SnapshotNotFound(`no snapshot${what} at or before ${ref.asOf}`);
    return found;
  }
  if (ref === 'latest') {
    refuseIfAnyUnreadable();
    const found = all[all.length - 1];
    if (found === undefined) throw new SnapshotNotFound(`no snapshot${what} in the repository`);
    return found;
  }
  if (!/^[0-9a-f]{1,64}$/.test(ref)) throw new InvalidInput(`invalid snapshot reference ${JSON.stringify(ref)} (use 'latest', an id or an id prefix)`);
  const suspect = unreadable.find((u) => snapshotIdOfName(u.name).startsWith(ref));
  if (suspect !== undefined) throw damaged(suspect, 1, 'run coffer verify to see the damage');
  const matches = all.filter((s) => s.id.startsWith(ref));
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) throw new SnapshotNotFound(`no snapshot${what} with id ${ref}`);
  throw new SnapshotNotFound(`snapshot prefix ${ref} is ambiguous (${matches.length} snapshots match)`);
}

/** `snapshots/<id>.e<epoch>` → `<id>`. */
function snapshotIdOfName(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.indexOf('.');
  return dot === -1 ? base : base.slice(0, dot);
}

function damaged(first: { name: string; err: unknown }, count: number, hint: string): IntegrityError {
  const more = count > 1 ? ` (and ${count - 1} more)` : '';
  return new IntegrityError(`snapshot object ${first.name}${more} cannot be read: ${first.err instanceof Error ? first.err.message : String(first.err)}`, { cause: first.err, hint });
}
