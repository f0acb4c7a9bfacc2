/**
 * Reading snapshot trees for `snapshots show` (like `restic ls`) and
 * `snapshots diff` (like `restic diff`). Pure reads through the Repository
 * API; results are bounded by the caller (a limit plus a count of the rest),
 * so a snapshot of millions of files never turns into one giant answer.
 */
import type { Repository } from '../../activities/engine/api';
import { InvalidInput } from '../../activities/errors';
import type { Tree, TreeNode } from '../../activities/repository/tree';

export interface ListedEntry {
  /** '/'-separated path from the snapshot root, e.g. `/src/docs/readme.txt`. */
  readonly path: string;
  readonly type: TreeNode['type'];
  readonly mode: number;
  readonly size?: number;
  /** ISO-8601 (millisecond precision). */
  readonly mtime: string;
  readonly uid: number;
  readonly gid: number;
  readonly user?: string;
  readonly group?: string;
  readonly linkTarget?: string;
}

export type ChangeKind = 'added' | 'removed' | 'modified' | 'type' | 'metadata';

export interface Change {
  readonly kind: ChangeKind;
  readonly path: string;
  readonly type: TreeNode['type'];
  /** Size in the older snapshot (files). */
  readonly sizeBefore?: number;
  /** Size in the newer snapshot (files). */
  readonly sizeAfter?: number;
}

/** Loads each tree once per command. */
export class TreeReader {
  private readonly cache = new Map<string, Promise<Tree>>();
  constructor(private readonly repository: Repository) {}

  async tree(id: string): Promise<Tree> {
    let tree = this.cache.get(id);
    if (tree === undefined) {
      tree = this.repository.loadTree(id);
      this.cache.set(id, tree);
    }
    return tree;
  }

  /** The tree id of the directory at `path` ('/', '/src/docs', 'src/docs') under `rootTree`. */
  async subtreeAt(rootTree: string, path: string): Promise<{ treeId: string; prefix: string }> {
    const segments = path.split('/').filter((s) => s !== '' && s !== '.');
    let treeId = rootTree;
    let prefix = '';
    for (const segment of segments) {
      const node = (await this.tree(treeId)).nodes.find((n) => n.name === segment);
      if (node === undefined) throw new InvalidInput(`no ${prefix}/${segment} in this snapshot`, { hint: "list the snapshot's top level with 'coffer snapshots show <id>' (no --path)" });
      if (node.type !== 'dir' || node.subtree === undefined) throw new InvalidInput(`${prefix}/${segment} is a ${node.type}, not a directory`);
      treeId = node.subtree;
      prefix = `${prefix}/${segment}`;
    }
    return { treeId, prefix };
  }

  /** Every entry below `treeId`, depth first in name order. */
  async *walk(treeId: string, prefix: string): AsyncGenerator<{ path: string; node: TreeNode }> {
    for (const node of (await this.tree(treeId)).nodes) {
      const path = `${prefix}/${node.name}`;
      yield { path, node };
      if (node.type === 'dir' && node.subtree !== undefined) yield* this.walk(node.subtree, path);
    }
  }

  /** Changes from tree `a` (older) to tree `b` (newer); identical subtrees (same id) are skipped unread. */
  async *diff(a: string | undefined, b: string | undefined, prefix: string): AsyncGenerator<Change> {
    if (a === b) return;
    const left = a === undefined ? [] : (await this.tree(a)).nodes;
    const right = b === undefined ? [] : (await this.tree(b)).nodes;
    const byName = new Map(right.map((n) => [n.name, n]));
    const names = [...new Set([...left.map((n) => n.name), ...right.map((n) => n.name)])].sort(compareNames);
    const leftByName = new Map(left.map((n) => [n.name, n]));
    for (const name of names) {
      const before = leftByName.get(name);
      const after = byName.get(name);
      const path = `${prefix}/${name}`;
      if (before === undefined && after !== undefined) {
        yield* this.all('added', after, path);
      } else if (after === undefined && before !== undefined) {
        yield* this.all('removed', before, path);
      } else if (before !== undefined && after !== undefined) {
        if (before.type !== after.type) {
          yield* this.all('removed', before, path);
          yield* this.all('added', after, path);
        } else if (after.type === 'dir') {
          if (metadataDiffers(before, after)) yield { kind: 'metadata', path, type: 'dir' };
          yield* this.diff(before.subtree, after.subtree, path);
        } else if (contentDiffers(before, after)) {
          yield { kind: 'modified', path, type: after.type, ...sizes(before, after) };
        } else if (metadataDiffers(before, after)) {
          yield { kind: 'metadata', path, type: after.type, ...sizes(before, after) };
        }
      }
    }
  }

  private async *all(kind: 'added' | 'removed', node: TreeNode, path: string): AsyncGenerator<Change> {
    const size = node.type === 'file' ? node.size ?? 0 : undefined;
    yield { kind, path, type: node.type, ...(size === undefined ? {} : kind === 'added' ? { sizeAfter: size } : { sizeBefore: size }) };
    if (node.type === 'dir' && node.subtree !== undefined) {
      for await (const child of this.walk(node.subtree, path)) {
        const childSize = child.node.type === 'file' ? child.node.size ?? 0 : undefined;
        yield { kind, path: child.path, type: child.node.type, ...(childSize === undefined ? {} : kind === 'added' ? { sizeAfter: childSize } : { sizeBefore: childSize }) };
      }
    }
  }
}

function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function sizes(before: TreeNode, after: TreeNode): { sizeBefore?: number; sizeAfter?: number } {
  return { ...(before.size === undefined ? {} : { sizeBefore: before.size }), ...(after.size === undefined ? {} : { sizeAfter: after.size }) };
}

function contentKey(node: TreeNode): string {
  return JSON.stringify([node.size ?? null, node.content ?? null, node.linkTarget ?? null, node.rdev ?? null]);
}

function contentDiffers(a: TreeNode, b: TreeNode): boolean {
  return contentKey(a) !== contentKey(b);
}

function metadataDiffers(a: TreeNode, b: TreeNode): boolean {
  return a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.mtimeNs !== b.mtimeNs || JSON.stringify(a.xattrs ?? {}) !== JSON.stringify(b.xattrs ?? {});
}

export function listedEntry(path: string, node: TreeNode): ListedEntry {
  return {
    path,
    type: node.type,
    mode: node.mode,
    ...(node.size === undefined ? {} : { size: node.size }),
    mtime: nsToIso(node.mtimeNs),
    uid: node.uid,
    gid: node.gid,
    ...(node.user === undefined ? {} : { user: node.user }),
    ...(node.group === undefined ? {} : { group: node.group }),
    ...(node.linkTarget === undefined ? {} : { linkTarget: node.linkTarget }),
  };
}

function nsToIso(ns: string): string {
  try {
    return new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
  } catch {
    return '?';
  }
}

/** `drwxr-xr-x`-style mode string. */
export function modeString(type: TreeNode['type'], mode: number): string {
  const first = { file: '-', dir: 'd', symlink: 'l', fifo: 'p', chardev: 'c', blockdev: 'b', socket: 's' }[type];
  const bits = ['r', 'w', 'x'];
  let out = first;
  for (let i = 8; i >= 0; i--) out += mode & (1 << i) ? bits[(8 - i) % 3] : '-';
  return out;
}
