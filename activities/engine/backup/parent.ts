/**
 * Finds a path's node in the parent snapshot, loading only the trees on the
 * way and caching directory listings (bounded).
 */
import type { TreeNode } from '../../repository/tree';
import type { RepoCore } from '../core';

const MAX_CACHED_DIRS = 2048;

export class ParentLookup {
  private readonly dirs = new Map<string, Map<string, TreeNode> | null>();

  constructor(
    private readonly core: RepoCore,
    private readonly rootTree: string | undefined,
  ) {}

  private async listing(dirPath: string): Promise<Map<string, TreeNode> | null> {
    const cached = this.dirs.get(dirPath);
    if (cached !== undefined) return cached;
    let result: Map<string, TreeNode> | null = null;
    if (this.rootTree !== undefined) {
      let treeId: string | undefined;
      if (dirPath === '') treeId = this.rootTree;
      else {
        const slash = dirPath.lastIndexOf('/');
        const parent = await this.listing(slash < 0 ? '' : dirPath.slice(0, slash));
        const node = parent?.get(dirPath.slice(slash + 1));
        treeId = node?.type === 'dir' ? node.subtree : undefined;
      }
      if (treeId !== undefined) {
        try {
          const tree = await this.core.loadTree(treeId);
          result = new Map(tree.nodes.map((n) => [n.name, n]));
        } catch {
          // An unreadable parent tree only costs re-reading the files.
          result = null;
        }
      }
    }
    if (this.dirs.size >= MAX_CACHED_DIRS) this.dirs.delete(this.dirs.keys().next().value!);
    this.dirs.set(dirPath, result);
    return result;
  }

  async lookup(relPath: string): Promise<TreeNode | undefined> {
    if (this.rootTree === undefined) return undefined;
    const slash = relPath.lastIndexOf('/');
    const dir = await this.listing(slash < 0 ? '' : relPath.slice(0, slash));
    return dir?.get(relPath.slice(slash + 1)) ?? undefined;
  }
}
