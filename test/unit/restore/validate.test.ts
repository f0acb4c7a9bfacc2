/**
 * Tree validation before a restore writes anything: owner ids outside what
 * Linux can set (32 bits, (uid_t)-1 reserved) are refused rather than
 * wrapped, e.g. 2^32 would become root.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { validateTree } from '../../../activities/engine/restore/validate';
import type { Tree, TreeNode } from '../../../activities/repository/tree';

function treeWith(owner: { uid: number; gid: number }): Tree {
  const node: TreeNode = { name: 'f', type: 'file', mode: 0o644, ...owner, mtimeNs: '0', size: 0, content: [] };
  return { nodes: [node] };
}

void test('owner ids that would wrap are refused; the largest real ids pass', () => {
  assert.doesNotThrow(() => validateTree(treeWith({ uid: 0xffff_fffe, gid: 0 }), []));
  for (const owner of [{ uid: 0x1_0000_0000, gid: 0 }, { uid: 0, gid: 0xffff_ffff }, { uid: -1, gid: 0 }]) {
    assert.throws(() => validateTree(treeWith(owner), []), (err: Error) => (err as { code?: string }).code === 'COFFER-E205' && /bad uid\/gid/.test(err.message), JSON.stringify(owner));
  }
});
