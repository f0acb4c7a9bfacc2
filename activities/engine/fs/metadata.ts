/**
 * Capture and apply one file-system entry's metadata, never following
 * symlinks. Capture feeds the backup scanner; apply is used by restore after
 * the entry's content exists (and for directories after their children).
 */
import type { BigIntStats } from 'node:fs';
import { chmod, lchown, readlink } from 'node:fs/promises';

import { IntegrityError } from '../../crypto/errors';
import type { NodeType, TreeNode } from '../../repository/tree';
import { groupId, groupName, userId, userName } from './accounts';
import { nativeFs } from './native';

export type NodeMetadata = Omit<TreeNode, 'content' | 'subtree'>;

export function nodeTypeOf(st: BigIntStats): NodeType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'chardev';
  if (st.isBlockDevice()) return 'blockdev';
  return 'socket';
}

/** Extended attributes of the entry itself (not a symlink's target), values base64. */
export function readXattrs(absPath: string): Record<string, string> | undefined {
  const addon = nativeFs();
  let names: string[];
  try {
    names = addon.llistxattr(absPath);
  } catch (err) {
    // File systems without xattr support simply have none.
    if (errorCode(err) === 'ENOTSUP') return undefined;
    throw err;
  }
  if (names.length === 0) return undefined;
  const xattrs: Record<string, string> = {};
  for (const name of names.sort()) {
    const value = addon.lgetxattr(absPath, name);
    // Removed between list and get: it no longer exists, so it is not captured.
    if (value !== null) xattrs[name] = value.toString('base64');
  }
  return Object.keys(xattrs).length === 0 ? undefined : xattrs;
}

/**
 * Metadata of the entry at `absPath`, whose lstat (bigint) is `st`. Optional
 * fields are omitted rather than set to undefined, so encoded trees stay small.
 */
export async function readNodeMetadata(absPath: string, name: string, st: BigIntStats): Promise<NodeMetadata> {
  const type = nodeTypeOf(st);
  const uid = Number(st.uid);
  const gid = Number(st.gid);
  const node: { -readonly [K in keyof NodeMetadata]: NodeMetadata[K] } = {
    name,
    type,
    mode: Number(st.mode & 0o7777n),
    uid,
    gid,
    mtimeNs: st.mtimeNs.toString(),
    atimeNs: st.atimeNs.toString(),
  };
  const user = userName(uid);
  if (user !== undefined) node.user = user;
  const group = groupName(gid);
  if (group !== undefined) node.group = group;
  if (type === 'file') node.size = Number(st.size);
  if (type === 'symlink') node.linkTarget = await readlink(absPath);
  if (type === 'chardev' || type === 'blockdev') node.rdev = Number(st.rdev);
  if (type !== 'dir' && st.nlink > 1n) node.hardlinkKey = `${st.dev}:${st.ino}`;
  const xattrs = readXattrs(absPath);
  if (xattrs !== undefined) node.xattrs = xattrs;
  return node;
}

export interface ApplyOptions {
  /** Restore uid/gid (needs root). The local id of the recorded user/group name wins over the number. */
  readonly owner: boolean;
}

export interface ApplyOutcome {
  /** Attributes outside `user.*` this file system or process may not set (e.g. security.* without privilege). */
  readonly skippedXattrs: readonly string[];
}

/** Parses a decimal nanosecond timestamp from a (possibly hostile) tree. */
export function parseNs(value: string, what: string): bigint {
  if (!/^-?\d{1,20}$/.test(value)) throw new IntegrityError(`malformed ${what} in snapshot tree: ${JSON.stringify(value)}`);
  return BigInt(value);
}

/**
 * Applies ownership, mode, xattrs and times to the entry at `absPath`, in that
 * order: chown clears setuid/setgid, so mode comes after it; setting xattrs
 * or the mode does not touch mtime, but writing anything else would, so times
 * come last. Never follows a symlink (lchown, utimensat NOFOLLOW; a symlink's
 * own mode does not exist on Linux).
 */
export async function applyNodeMetadata(absPath: string, node: TreeNode, options: ApplyOptions): Promise<ApplyOutcome> {
  const addon = nativeFs();
  const mtime = parseNs(node.mtimeNs, 'mtime');
  const atime = node.atimeNs === undefined ? mtime : parseNs(node.atimeNs, 'atime');
  if (options.owner) {
    const { uid, gid } = localOwner(node);
    await lchown(absPath, uid, gid);
  }
  if (node.type !== 'symlink') await chmod(absPath, node.mode & 0o7777);
  const skippedXattrs = applyXattrs(absPath, node);
  addon.lutimens(absPath, atime, mtime);
  return { skippedXattrs };
}

/** The local ids of the node's owner: the recorded user and group names win over the numbers. */
export function localOwner(node: TreeNode): { uid: number; gid: number } {
  return {
    uid: (node.user === undefined ? undefined : userId(node.user)) ?? node.uid,
    gid: (node.group === undefined ? undefined : groupId(node.group)) ?? node.gid,
  };
}

/**
 * Sets the node's extended attributes on `absPath` (never following a
 * symlink); setting them leaves mtime alone. Returns the names outside
 * `user.*` this file system or process may not set.
 */
export function applyXattrs(absPath: string, node: TreeNode): string[] {
  const skipped: string[] = [];
  for (const [name, value] of Object.entries(node.xattrs ?? {})) {
    try {
      nativeFs().lsetxattr(absPath, name, Buffer.from(value, 'base64'));
    } catch (err) {
      const code = errorCode(err);
      if (!name.startsWith('user.') && (code === 'EPERM' || code === 'ENOTSUP' || code === 'EACCES')) {
        skipped.push(name);
        continue;
      }
      throw err;
    }
  }
  return skipped;
}

export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}
