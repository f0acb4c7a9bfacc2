/**
 * commitBackup: build the trees bottom-up from the plan (directories, special
 * entries) and the batch results (files with content), store them as tree
 * chunks, write the final index, then the snapshot, then drop the plan.
 * Idempotent: the snapshot id is derived from the plan id, so a retry after
 * the snapshot was written finds it instead of writing a second one.
 */
import { mac } from '../../crypto/chunk-id';
import { InvalidInput } from '../../errors';
import { Names } from '../../repository/format';
import type { TreeNode } from '../../repository/tree';
import { encodeTree } from '../../repository/tree-codec';
import type { SnapshotSummary } from '../api';
import type { RepoCore } from '../core';
import { PackPool } from '../pack-pool';
import { loadBatchDoc } from './batch';
import { loadPlan } from './plan';
import type { BatchDoc } from './plan-doc';

export function snapshotIdForPlan(core: RepoCore, planId: string): string {
  return mac(core.keyring.chunkIdKey, Buffer.from(`coffer/snapshot-of-plan/v1\0${planId}`, 'utf8')).toString('hex');
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export async function deletePlan(core: RepoCore, planId: string): Promise<void> {
  const names: string[] = [];
  for await (const obj of core.backend.list(Names.planPrefix(planId))) names.push(obj.name);
  // The plan object last, so a half-deleted plan is still recognisable as one.
  names.sort((a, b) => (a.endsWith('/plan') ? 1 : 0) - (b.endsWith('/plan') ? 1 : 0));
  for (const name of names) await core.backend.remove(name);
}

export async function commitBackup(core: RepoCore, planId: string): Promise<SnapshotSummary> {
  const snapshotId = snapshotIdForPlan(core, planId);
  const plan = await loadPlan(core, planId);
  if (plan === undefined) {
    const existing = (await core.loadSnapshots()).find((s) => s.id === snapshotId);
    if (existing !== undefined) return existing;
    throw new InvalidInput(`backup plan ${planId} does not exist`);
  }
  return core.withLock('shared', 'backup-commit', async () => {
    await core.refreshIndex();
    const batches: BatchDoc[] = [];
    for (let b = 0; b < plan.batches; b++) {
      const doc = await loadBatchDoc(core, planId, b);
      if (doc === undefined) throw new InvalidInput(`batch ${b} of plan ${planId.slice(0, 12)} has not completed; run it before committing`);
      batches.push(doc);
    }

    const children = new Map<string, TreeNode[]>();
    const addChild = (path: string, node: TreeNode): void => {
      const parent = parentOf(path);
      const list = children.get(parent);
      if (list === undefined) children.set(parent, [node]);
      else list.push(node);
    };
    const dirs: { path: string; node: TreeNode }[] = [];
    for (const e of plan.entries) {
      if (e.node.type === 'dir') dirs.push({ path: e.path, node: e.node });
      else addChild(e.path, e.node);
    }
    let files = 0;
    let bytes = 0;
    let bytesChanged = 0;
    let errors = plan.unreadable.length;
    const totals = { bytesNew: 0, bytesUploaded: 0, chunksNew: 0, chunksDeduplicated: 0, filesUnchanged: 0 };
    for (const b of batches) {
      for (const f of b.files) {
        addChild(f.path, f.node);
        if (f.node.type === 'file') {
          files++;
          bytes += f.node.size ?? 0;
        }
      }
      errors += b.unreadable.length;
      bytesChanged += b.stats.bytesRead;
      totals.bytesNew += b.stats.bytesNew;
      totals.bytesUploaded += b.stats.bytesUploaded;
      totals.chunksNew += b.stats.chunksNew;
      totals.chunksDeduplicated += b.stats.chunksDeduplicated;
      totals.filesUnchanged += b.stats.filesUnchanged;
    }

    const pool = new PackPool(core, {
      openPacks: 1,
      packSize: core.config.packSize,
      compressionLevel: core.config.compressionLevel,
      uploadConcurrency: core.options.uploadConcurrency,
    });
    const storeTree = async (nodes: TreeNode[]): Promise<string> => {
      const encoded = encodeTree({ nodes });
      const id = core.treeIdOf(encoded);
      if (!pool.has(id)) {
        await pool.add(id, 'tree', encoded);
        totals.chunksNew++;
        totals.bytesNew += encoded.length;
      } else totals.chunksDeduplicated++;
      return id;
    };
    // Deepest directories first, so every child's tree id is known before its parent is encoded.
    dirs.sort((a, b) => b.path.split('/').length - a.path.split('/').length);
    for (const d of dirs) {
      const subtree = await storeTree(children.get(d.path) ?? []);
      addChild(d.path, { ...d.node, subtree });
    }
    const rootTree = await storeTree(children.get('') ?? []);
    await pool.flushAndIndex();
    totals.bytesUploaded += pool.bytesUploaded;

    const summary: SnapshotSummary = {
      id: snapshotId,
      time: plan.created,
      host: plan.host,
      paths: plan.paths,
      tags: plan.tags,
      ...(plan.parent === undefined ? {} : { parent: plan.parent }),
      rootTree,
      keyEpoch: core.keyring.currentEpoch,
      // filesChanged/bytesChanged: the anomaly check's history (activities/sources/anomaly.ts).
      stats: { files, dirs: dirs.length, bytes, ...totals, errors, filesChanged: Math.max(0, files - totals.filesUnchanged), bytesChanged },
    };
    await core.saveSnapshot(summary);
    await deletePlan(core, planId);
    return summary;
  });
}
