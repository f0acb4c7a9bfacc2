/**
 * First pass over a snapshot before restore writes anything: every tree the
 * selection reaches is loaded and validated (names, shapes, no directory
 * cycles), and the totals for progress are counted. A hostile entry anywhere
 * therefore fails the restore before a single byte lands in the target.
 */
import type { Tree, TreeNode } from '../../repository/tree';
import { UnsafePath } from './errors';
import type { PathFilter } from './glob';
import type { SnapshotReader } from './reader';
import { REPEATED_CHUNK_MIN } from './repeated-chunks';
import type { RepeatedChunk } from './repeated-chunks';
import { displayPath, validateTree } from './validate';

/** Files up to this size are restored whole in one go; larger ones are streamed chunk by chunk. */
export const SMALL_FILE = 1024 * 1024;

/** Restored in the large-file lane: streamed, and not in a hard-link group (whose members wait for each other). */
export function isLargeFile(node: TreeNode): boolean {
  return node.type === 'file' && (node.size ?? 0) > SMALL_FILE && node.hardlinkKey === undefined;
}

export interface SnapshotTotals {
  readonly files: number;
  readonly bytes: number;
  /** Selected files above SMALL_FILE outside hard-link groups (restored in their own lane). */
  readonly largeFiles: number;
  /** Every chunk the selection's files refer to; undefined when too many to keep (or not asked for). */
  readonly chunks?: ReadonlySet<string>;
  /** With `chunks`: the large chunks (REPEATED_CHUNK_MIN and up) whose content is written more than once, and how often. */
  readonly repeated?: Map<string, RepeatedChunk>;
}

/** Beyond this many distinct chunks the set is dropped: reads then go chunk by chunk (memory stays bounded). */
const MAX_PLANNED_CHUNKS = 2_000_000;

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
  collectChunks = false,
): Promise<SnapshotTotals> {
  let files = 0;
  let bytes = 0;
  let largeFiles = 0;
  let chunks: Set<string> | undefined = collectChunks ? new Set() : undefined;
  // Uses of each large chunk; a hard link's later entries are linked, not written, so they use nothing.
  let largeUses: Map<string, RepeatedChunk> | undefined = collectChunks ? new Map() : undefined;
  const linkKeys = new Set<string>();
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
        if (isLargeFile(node)) largeFiles++;
        if (chunks !== undefined && node.type === 'file') {
          for (const ref of node.content ?? []) if ('chunk' in ref) chunks.add(ref.chunk);
          if (chunks.size > MAX_PLANNED_CHUNKS) chunks = largeUses = undefined;
        }
        const written = node.hardlinkKey === undefined || !linkKeys.has(node.hardlinkKey);
        if (node.hardlinkKey !== undefined) linkKeys.add(node.hardlinkKey);
        if (largeUses !== undefined && node.type === 'file' && written) {
          for (const ref of node.content ?? []) {
            if (!('chunk' in ref) || ref.size < REPEATED_CHUNK_MIN) continue;
            const use = largeUses.get(ref.chunk);
            if (use === undefined) largeUses.set(ref.chunk, { uses: 1, size: ref.size });
            else use.uses++;
          }
        }
      }
    }
    ancestors.delete(id);
  };
  await visit(rootTreeId, [], new Set());
  if (chunks === undefined || largeUses === undefined) return { files, bytes, largeFiles };
  for (const [id, use] of largeUses) if (use.uses < 2) largeUses.delete(id);
  return { files, bytes, largeFiles, chunks, repeated: largeUses };
}
