/**
 * Checks one tree object from a (possibly hostile) snapshot before anything of
 * it touches the disk: safe, unique names and a well-formed node shape.
 */
import { IntegrityError } from '../../crypto/errors';
import type { Tree, TreeNode } from '../../repository/tree';
import { parseNs } from '../fs/metadata';
import { UnsafePath } from './errors';

const NODE_TYPES = new Set(['file', 'dir', 'symlink', 'fifo', 'chardev', 'blockdev', 'socket']);

/** Joins snapshot-relative segments for messages ('' is the root). */
export function displayPath(segments: readonly string[]): string {
  return segments.join('/');
}

export function checkName(name: unknown, dir: readonly string[]): asserts name is string {
  const where = displayPath([...dir, String(name)]);
  if (typeof name !== 'string') throw new UnsafePath(where, 'entry name is not a string');
  if (name === '' || name === '.' || name === '..') throw new UnsafePath(where, `entry name ${JSON.stringify(name)} is not allowed`);
  if (name.includes('/')) throw new UnsafePath(where, 'entry name contains "/"');
  if (name.includes('\0')) throw new UnsafePath(where, 'entry name contains NUL');
  if (Buffer.byteLength(name) > 255) throw new UnsafePath(where, 'entry name is longer than 255 bytes');
}

const MAX_ID = 0xffff_ffff;

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function malformed(path: string, what: string): IntegrityError {
  return new IntegrityError(`malformed snapshot tree entry ${JSON.stringify(path)}: ${what}`);
}

function checkNode(node: TreeNode, path: string): void {
  if (!NODE_TYPES.has(node.type)) throw malformed(path, `unknown type ${JSON.stringify(node.type)}`);
  if (!isCount(node.mode)) throw malformed(path, 'bad mode');
  // A Linux id is 32 bits and (uid_t)-1 means "unchanged": anything larger would wrap when set.
  if (!isCount(node.uid) || !isCount(node.gid) || node.uid >= MAX_ID || node.gid >= MAX_ID) throw malformed(path, 'bad uid/gid');
  parseNs(node.mtimeNs, 'mtime');
  if (node.atimeNs !== undefined) parseNs(node.atimeNs, 'atime');
  if (node.xattrs !== undefined) {
    for (const [key, value] of Object.entries(node.xattrs)) {
      if (key === '' || key.includes('\0') || typeof value !== 'string') throw malformed(path, 'bad xattr');
    }
  }
  switch (node.type) {
    case 'dir':
      if (typeof node.subtree !== 'string' || node.subtree === '') throw malformed(path, 'directory without subtree');
      break;
    case 'file': {
      if (!isCount(node.size)) throw malformed(path, 'bad size');
      let total = 0;
      for (const ref of node.content ?? []) {
        if ('chunk' in ref) {
          if (typeof ref.chunk !== 'string' || !isCount(ref.size) || ref.size === 0) throw malformed(path, 'bad chunk reference');
          total += ref.size;
        } else if ('hole' in ref && isCount(ref.hole)) {
          total += ref.hole;
        } else {
          throw malformed(path, 'bad content reference');
        }
      }
      if (total !== node.size) throw malformed(path, `content adds up to ${total} bytes, size is ${node.size}`);
      if (node.hardlinkKey !== undefined && typeof node.hardlinkKey !== 'string') throw malformed(path, 'bad hardlink key');
      break;
    }
    case 'symlink':
      if (typeof node.linkTarget !== 'string' || node.linkTarget === '' || node.linkTarget.includes('\0')) {
        throw malformed(path, 'bad symlink target');
      }
      break;
    case 'chardev':
    case 'blockdev':
      if (!isCount(node.rdev)) throw malformed(path, 'bad rdev');
      break;
    default:
      break;
  }
}

/** Throws UnsafePath or IntegrityError for the first bad entry of `tree` (in directory `dir`). */
export function validateTree(tree: Tree, dir: readonly string[]): void {
  const nodes: unknown = typeof tree === 'object' && tree !== null ? tree.nodes : undefined;
  if (!Array.isArray(nodes)) throw new IntegrityError(`malformed snapshot tree for ${JSON.stringify(displayPath(dir))}`);
  const seen = new Set<string>();
  for (const node of tree.nodes) {
    if (typeof node !== 'object' || (node as unknown) === null) throw new IntegrityError(`malformed snapshot tree for ${JSON.stringify(displayPath(dir))}`);
    checkName(node.name, dir);
    const path = displayPath([...dir, node.name]);
    if (seen.has(node.name)) throw new UnsafePath(path, 'duplicate entry name in one directory');
    seen.add(node.name);
    checkNode(node, path);
  }
}
