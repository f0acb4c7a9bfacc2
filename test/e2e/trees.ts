/** Test data trees and an independent byte-for-byte comparison (not the engine's). */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';

export interface TreeSpec {
  /** Number of small files spread over nested directories. */
  readonly smallFiles?: number;
  /** Sizes of extra larger files, in bytes. */
  readonly largeFiles?: readonly number[];
}

/** A tree with nested dirs, small and large random files, an empty file, a symlink and an executable. */
export async function makeTree(root: string, spec: TreeSpec = {}): Promise<void> {
  await mkdir(join(root, 'docs', 'nested', 'deeper'), { recursive: true });
  await mkdir(join(root, 'empty-dir'), { recursive: true });
  await writeFile(join(root, 'docs', 'readme.txt'), 'Coffer keeps what matters.\n');
  await writeFile(join(root, 'docs', 'empty.txt'), '');
  await writeFile(join(root, 'docs', 'nested', 'deeper', 'notes.md'), '# notes\n'.repeat(100));
  await writeFile(join(root, 'run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(root, 'run.sh'), 0o755);
  await symlink('docs/readme.txt', join(root, 'link-to-readme'));
  const small = spec.smallFiles ?? 20;
  for (let i = 0; i < small; i++) {
    const dir = join(root, 'data', `d${i % 7}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `f${i}.bin`), randomBytes(100 + ((i * 7919) % 5000)));
  }
  for (const [i, size] of (spec.largeFiles ?? [3 * 1024 * 1024]).entries()) {
    await writeFile(join(root, `large-${i}.bin`), randomBytes(size));
  }
}

/** Differences between two trees: type, content, symlink target, permission bits. */
export async function treeDifferences(a: string, b: string, path = ''): Promise<string[]> {
  const diffs: string[] = [];
  const [sa, sb] = await Promise.all([lstat(join(a, path)), lstat(join(b, path))]);
  const label = path === '' ? '.' : path;
  if (sa.isDirectory() !== sb.isDirectory() || sa.isSymbolicLink() !== sb.isSymbolicLink() || sa.isFile() !== sb.isFile()) {
    return [`${label}: type differs`];
  }
  if (path !== '' && (sa.mode & 0o7777) !== (sb.mode & 0o7777)) diffs.push(`${label}: mode ${(sa.mode & 0o7777).toString(8)} vs ${(sb.mode & 0o7777).toString(8)}`);
  if (sa.isSymbolicLink()) {
    const [ta, tb] = await Promise.all([readlink(join(a, path)), readlink(join(b, path))]);
    if (ta !== tb) diffs.push(`${label}: link target differs`);
  } else if (sa.isFile()) {
    const [ca, cb] = await Promise.all([readFile(join(a, path)), readFile(join(b, path))]);
    if (!ca.equals(cb)) diffs.push(`${label}: content differs`);
  } else if (sa.isDirectory()) {
    const [ea, eb] = await Promise.all([readdir(join(a, path)), readdir(join(b, path))]);
    const all = new Set([...ea, ...eb]);
    for (const name of [...all].sort()) {
      if (!ea.includes(name)) diffs.push(`${join(path, name)}: only in ${b}`);
      else if (!eb.includes(name)) diffs.push(`${join(path, name)}: only in ${a}`);
      else diffs.push(...(await treeDifferences(a, b, join(path, name))));
    }
  }
  return diffs;
}
