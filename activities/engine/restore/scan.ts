/**
 * First pass over a snapshot before restore writes anything: every tree the
 * selection reaches is loaded and validated (names, shapes, no directory
 * cycles), and the totals for progress are counted. A hostile entry anywhere
 * therefore fails the restore before a single byte lands in the target.
 */
import type { Tree } from '../../repository/tree';
import { UnsafePath } from './errors';
import type { PathFilter } from './glob';
import type { SnapshotReader } from './reader';
import { displayPath, validateTree } from './validate';

export interface SnapshotTotals {
  readonly files: number;
  readonly bytes: number;
}

/** Loads and validates a tree; `ancestors` are the tree ids on the path from the root (cycle guard). */
export async function loadCheckedTree(
  reader: SnapshotReader,
  id: string,
  dir: readonly string[],
  ancestors: ReadonlySet<string>,
): Promise<Tree> {
  if (ancestors.has(id)) throw new UnsafePath(displayPath(dir), 'directory refers to one of its own ancestors (a cycle)');
  const tree = await reader.loadTree(id);
  validateTree(tree, dir);
  return tree;
}

export async function scanSnapshot(
  reader: SnapshotReader,
  rootTreeId: string,
  filter: PathFilter,
  signal?: AbortSignal,
): Promise<SnapshotTotals> {
  let files = 0;
  let bytes = 0;
  const visit = async (id: string, dir: readonly string[], ancestors: Set<string>): Promise<void> => {
    signal?.throwIfAborted();
    const tree = await loadCheckedTree(reader, id, dir, ancestors);
    ancestors.add(id);
    for (const node of tree.nodes) {
      const path = [...dir, node.name];
      if (node.type === 'dir') {
        if (filter.descends(path)) await visit(node.subtree as string, path, ancestors);
      } else if (filter.selects(path)) {
        files++;
        if (node.type === 'file') bytes += node.size ?? 0;
      }
    }
    ancestors.delete(id);
  };
  await visit(rootTreeId, [], new Set());
  return { files, bytes };
}
