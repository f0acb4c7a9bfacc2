/**
 * Hash manifests of a file tree: relative path -> size + SHA-256. The dataset
 * records one when generated; every tool's restore is hashed and compared with
 * it, because a benchmark that restores wrong data measures nothing.
 */
import { createHash } from 'node:crypto';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface ManifestEntry {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

/** Every regular file under `root`, hashed (paths relative, '/'-separated, sorted). */
export async function hashTree(root: string): Promise<ManifestEntry[]> {
  const files: string[] = [];
  await collect(root, '', files);
  files.sort();
  const entries: ManifestEntry[] = new Array<ManifestEntry>(files.length);
  // A few files in flight overlap disk reads with hashing.
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= files.length) return;
      const rel = files[i];
      entries[i] = { path: rel, ...(await hashFile(join(root, rel))) };
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return entries;
}

async function collect(root: string, rel: string, out: string[]): Promise<void> {
  const dirents = await readdir(join(root, rel), { withFileTypes: true });
  for (const d of dirents) {
    const childRel = rel === '' ? d.name : `${rel}/${d.name}`;
    if (d.isDirectory()) await collect(root, childRel, out);
    else if (d.isFile()) out.push(childRel);
    else out.push(`${childRel}\u0000not-a-regular-file`);
  }
}

const READ_BLOCK = 1 << 20;

export async function hashFile(path: string): Promise<{ size: number; sha256: string }> {
  if (path.includes('\u0000')) return { size: -1, sha256: 'not-a-regular-file' };
  const fh = await open(path, 'r');
  try {
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(READ_BLOCK);
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, READ_BLOCK, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { size, sha256: hash.digest('hex') };
  } finally {
    await fh.close();
  }
}

export interface TreeDifference {
  readonly missing: string[];
  readonly extra: string[];
  readonly changed: string[];
}

export function compareManifests(expected: readonly ManifestEntry[], actual: readonly ManifestEntry[]): TreeDifference {
  const want = new Map(expected.map((e) => [e.path, e]));
  const got = new Map(actual.map((e) => [e.path, e]));
  const missing: string[] = [];
  const changed: string[] = [];
  for (const [path, e] of want) {
    const a = got.get(path);
    if (!a) missing.push(path);
    else if (a.size !== e.size || a.sha256 !== e.sha256) changed.push(path);
  }
  const extra = [...got.keys()].filter((p) => !want.has(p));
  return { missing, extra, changed };
}

export function isIdentical(diff: TreeDifference): boolean {
  return diff.missing.length === 0 && diff.extra.length === 0 && diff.changed.length === 0;
}

export function describeDifference(diff: TreeDifference): string {
  const show = (label: string, items: string[]): string =>
    items.length === 0 ? '' : `${items.length} ${label} (e.g. ${items.slice(0, 3).join(', ')}); `;
  return (show('missing', diff.missing) + show('extra', diff.extra) + show('changed', diff.changed)).trim();
}
