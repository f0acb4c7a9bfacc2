/**
 * Writes hand-made (malicious) snapshots into a real repository with its
 * valid key, through the engine's own format code: data and tree chunks are
 * sealed and packed by PackPool, indexed by RepoCore.writeIndex and the
 * snapshot object sealed by RepoCore.saveSnapshot — exactly the bytes an
 * attacker holding the key (or a compromised client) could store.
 *
 * Trees are encoded here without the canonical encoder's checks, so
 * duplicate, unsorted and hostile names reach storage as written.
 */
import { randomBytes } from 'node:crypto';
import type { SnapshotSummary } from '../../activities/engine/api';
import type { CofferRepository } from '../../activities/engine/repository';
import { PackPool } from '../../activities/engine/pack-pool';
import type { ContentRef, NodeType } from '../../activities/repository/tree';

/** One entry of a crafted directory: any TreeNode field, plus content and children given as values. */
export interface CraftNode {
  readonly name: string;
  readonly type: NodeType;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly mtimeNs?: string;
  /** Files: bytes stored as one chunk (size and content derived unless given). */
  readonly data?: Buffer | string;
  readonly size?: number;
  readonly content?: readonly ContentRef[];
  /** Directories: the children (stored as their own tree). */
  readonly children?: readonly CraftNode[];
  /** Directories: a raw subtree id instead of children. */
  readonly subtree?: string;
  readonly linkTarget?: string;
  readonly hardlinkKey?: string;
  readonly rdev?: number;
}

const DEFAULT_MTIME = '1700000000000000000';

export async function writeCraftedSnapshot(repo: CofferRepository, root: readonly CraftNode[], label: string): Promise<SnapshotSummary> {
  const core = repo.core;
  await core.refreshIndex();
  const pool = new PackPool(core, { openPacks: 1, packSize: core.config.packSize, compressionLevel: core.config.compressionLevel, uploadConcurrency: 1 });

  const storeTree = async (nodes: readonly CraftNode[]): Promise<string> => {
    const encoded: Record<string, unknown>[] = [];
    for (const n of nodes) {
      const out: Record<string, unknown> = { name: n.name, type: n.type, mode: n.mode ?? (n.type === 'dir' ? 0o755 : 0o644), uid: n.uid ?? 0, gid: n.gid ?? 0, mtimeNs: n.mtimeNs ?? DEFAULT_MTIME };
      if (n.type === 'file' || n.data !== undefined) {
        const bytes = Buffer.isBuffer(n.data) ? n.data : Buffer.from(n.data ?? '', 'utf8');
        let content = n.content;
        if (content === undefined) {
          content = [];
          if (bytes.length > 0) {
            const id = core.idOf('data', bytes);
            if (!pool.has(id)) await pool.add(id, 'data', bytes);
            content = [{ chunk: id, size: bytes.length }];
          }
        }
        out.size = n.size ?? bytes.length;
        out.content = content;
      }
      if (n.children !== undefined) out.subtree = await storeTree(n.children);
      if (n.subtree !== undefined) out.subtree = n.subtree;
      if (n.linkTarget !== undefined) out.linkTarget = n.linkTarget;
      if (n.rdev !== undefined) out.rdev = n.rdev;
      if (n.hardlinkKey !== undefined) out.hardlinkKey = n.hardlinkKey;
      encoded.push(out);
    }
    const bytes = Buffer.from(JSON.stringify({ nodes: encoded }), 'utf8');
    const id = core.treeIdOf(bytes);
    if (!pool.has(id)) await pool.add(id, 'tree', bytes);
    return id;
  };

  const rootTree = await storeTree(root);
  await pool.flushAndIndex();
  const summary: SnapshotSummary = {
    id: randomBytes(32).toString('hex'),
    time: new Date().toISOString(),
    host: 'attacker',
    paths: [`/crafted/${label}`],
    tags: ['malicious', label],
    rootTree,
    keyEpoch: core.keyring.currentEpoch,
    stats: { files: 0, dirs: 0, bytes: 0, bytesNew: 0, bytesUploaded: 0, chunksNew: 0, chunksDeduplicated: 0, filesUnchanged: 0, errors: 0 },
  };
  await core.saveSnapshot(summary);
  return summary;
}
