/**
 * Test helper: builds a directory with every kind of entry restore must
 * reproduce, and compares two directories independently of compareTree
 * (lstat, readlink, xattrs via the addon, content by data extents).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { chmod, chown, link, lstat, mkdir, open, readdir, readlink, symlink, writeFile } from 'node:fs/promises';

import { nativeFs } from '../../../activities/engine/fs/native';

export const SPARSE_SIZE = 4 * 1024 ** 3;

/** Writes a 4 GiB file with three small data regions and holes everywhere else. */
export async function writeSparse(path: string): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.truncate(SPARSE_SIZE);
    await handle.write(randomBytes(1000), 0, 1000, 0);
    await handle.write(randomBytes(70_000), 0, 70_000, 1024 ** 3 + 123);
    await handle.write(Buffer.from('tail bytes'), 0, 10, SPARSE_SIZE - 10);
  } finally {
    await handle.close();
  }
}

/** Every entry kind of issue 3's "done when" list. Returns relative paths whose times were set. */
export async function buildFixture(root: string): Promise<void> {
  const addon = nativeFs();
  await mkdir(`${root}/sub/deeper/deepest`, { recursive: true });
  await mkdir(`${root}/emptydir`);
  await mkdir(`${root}/sticky`, { mode: 0o777 });
  await mkdir(`${root}/setgid-dir`);
  await writeFile(`${root}/unicode-ünïcødé-日本語.txt`, 'unicode name\n');
  await writeFile(`${root}/caf\u00e9`, 'NFC name\n');
  await writeFile(`${root}/cafe\u0301`, 'NFD name (different bytes)\n');
  await writeFile(`${root}/line\nbreak`, 'a name with a newline\n');
  await writeFile(`${root}/empty`, '');
  const mixed = Buffer.concat([randomBytes(100_000), Buffer.alloc(140_000), randomBytes(60_001)]);
  await writeFile(`${root}/sub/mixed.bin`, mixed);
  await writeFile(`${root}/sub/deeper/deepest/leaf.txt`, 'leaf\n');
  await writeFile(`${root}/hl-a`, 'hard linked content\n');
  await link(`${root}/hl-a`, `${root}/sub/hl-b`);
  await link(`${root}/hl-a`, `${root}/sub/deeper/hl-c`);
  await symlink('/nonexistent/coffer-dangling-target', `${root}/dangling`);
  await symlink('/etc/hostname', `${root}/absolute-link`);
  await symlink('sub/deeper/deepest/leaf.txt', `${root}/relative-link`);
  await symlink('sub', `${root}/dir-link`);
  addon.mknod(`${root}/pipe`, constants.S_IFIFO | 0o640, 0);
  addon.mknod(`${root}/null-device`, constants.S_IFCHR | 0o666, (1 << 8) | 3);
  await writeSparse(`${root}/sparse.img`);
  await writeFile(`${root}/setuid-bin`, '#!/bin/sh\n');
  await writeFile(`${root}/sticky/inside`, 'x');
  await writeFile(`${root}/owned`, 'owned by someone else\n');
  await chown(`${root}/owned`, 1234, 5678);
  await chmod(`${root}/setuid-bin`, 0o4755);
  await chmod(`${root}/sticky`, 0o1777);
  await chmod(`${root}/setgid-dir`, 0o2750);
  addon.lsetxattr(`${root}/sub/mixed.bin`, 'user.comment', Buffer.from('a comment'));
  addon.lsetxattr(`${root}/sub/mixed.bin`, 'user.binary', Buffer.from([0, 1, 2, 255]));
  addon.lsetxattr(`${root}/sub`, 'user.dir-attr', Buffer.from('on a directory'));
  addon.lsetxattr(`${root}/empty`, 'user.empty-value', Buffer.alloc(0));
  // Distinct nanosecond times everywhere, children before parents, links without following.
  await setTimes(root, 1_600_000_000_000_000_001n);
}

async function setTimes(dir: string, base: bigint): Promise<bigint> {
  let next = base;
  for (const name of (await readdir(dir)).sort()) {
    const path = `${dir}/${name}`;
    const st = await lstat(path);
    if (st.isDirectory()) next = await setTimes(path, next);
    next += 1_000_003_007n;
    nativeFs().lutimens(path, next + 500n, next);
  }
  return next;
}

async function dataExtents(path: string, size: number): Promise<[number, number][]> {
  const handle = await open(path, 'r');
  try {
    const extents: [number, number][] = [];
    let pos = 0;
    while (pos < size) {
      const data = nativeFs().seekData(handle.fd, pos);
      if (data < 0 || data >= size) break;
      const hole = nativeFs().seekHole(handle.fd, data);
      const end = hole < 0 ? size : Math.min(hole, size);
      extents.push([data, end]);
      pos = end;
    }
    return extents;
  } finally {
    await handle.close();
  }
}

/** Digest of a file's bytes, reading only the data extents of `a` and `b` (holes read as zeros). */
async function digestOver(path: string, extents: [number, number][]): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(path, 'r');
  try {
    for (const [start, end] of extents) {
      const buffer = Buffer.alloc(end - start);
      await handle.read(buffer, 0, buffer.length, start);
      hash.update(`${start}:`).update(buffer);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

function xattrsOf(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of nativeFs().llistxattr(path).sort()) out[name] = nativeFs().lgetxattr(path, name)?.toString('base64') ?? '';
  return out;
}

function typeOf(st: BigIntStats): string {
  if (st.isCharacterDevice()) return `chardev ${st.rdev}`;
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : 'other';
}

/**
 * Asserts `restored` equals `source` in names, types, content, modes, owners,
 * ns mtimes, xattrs, symlink targets and hard-link structure. Returns how many entries were compared.
 */
export async function assertSameTree(source: string, restored: string): Promise<number> {
  const inodeMap = new Map<string, string>();
  let count = 0;
  const walk = async (rel: string): Promise<void> => {
    const a = rel === '' ? source : `${source}/${rel}`;
    const b = rel === '' ? restored : `${restored}/${rel}`;
    const namesA = (await readdir(a)).sort();
    const namesB = (await readdir(b)).sort();
    assert.deepEqual(namesB, namesA, `entries of ${JSON.stringify(rel)}`);
    for (const name of namesA) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const sa = await lstat(`${source}/${path}`, { bigint: true });
      const sb = await lstat(`${restored}/${path}`, { bigint: true });
      const what = JSON.stringify(path);
      assert.equal(typeOf(sb), typeOf(sa), `type of ${what}`);
      assert.equal(sb.mode, sa.mode, `mode of ${what}`);
      assert.equal(sb.uid, sa.uid, `uid of ${what}`);
      assert.equal(sb.gid, sa.gid, `gid of ${what}`);
      assert.equal(sb.mtimeNs, sa.mtimeNs, `mtime (ns) of ${what}`);
      assert.deepEqual(xattrsOf(`${restored}/${path}`), xattrsOf(`${source}/${path}`), `xattrs of ${what}`);
      if (sa.isSymbolicLink()) assert.equal(await readlink(`${restored}/${path}`), await readlink(`${source}/${path}`), `target of ${what}`);
      if (sa.isFile()) {
        assert.equal(sb.size, sa.size, `size of ${what}`);
        const size = Number(sa.size);
        const union = [...(await dataExtents(`${source}/${path}`, size)), ...(await dataExtents(`${restored}/${path}`, size))];
        // Both digests over the same extents: bytes outside them are holes (zeros) in both files.
        assert.equal(await digestOver(`${restored}/${path}`, union), await digestOver(`${source}/${path}`, union), `content of ${what}`);
        const inodeA = `${sa.dev}:${sa.ino}`;
        const inodeB = `${sb.dev}:${sb.ino}`;
        const mapped = inodeMap.get(inodeA);
        if (mapped === undefined) {
          assert.ok(![...inodeMap.values()].includes(inodeB), `${what} shares an inode it should not`);
          inodeMap.set(inodeA, inodeB);
        } else {
          assert.equal(inodeB, mapped, `hard-link structure of ${what}`);
        }
        assert.equal(sb.nlink, sa.nlink, `link count of ${what}`);
      }
      count++;
      if (sa.isDirectory()) await walk(path);
    }
  };
  await walk('');
  return count;
}
