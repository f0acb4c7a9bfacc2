/**
 * Hostile snapshots (valid key, malicious content): nothing may be written
 * outside the target, and unsafe entries fail with UnsafePath naming the path.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { after, beforeEach, describe, it } from 'node:test';

import { IntegrityError } from '../../../activities/crypto/errors';
import { UnsafePath, restoreTree } from '../../../activities/engine/restore';
import type { TreeNode } from '../../../activities/repository/tree';
import { MemorySnapshot, dirNode, fileNode, makeNode } from './memory-snapshot';

/** Every path under `dir` with type, size, mtime and content hash: any write shows up as a change. */
async function fingerprint(dir: string): Promise<string[]> {
  const lines: string[] = [];
  const walk = async (path: string): Promise<void> => {
    for (const name of (await readdir(path)).sort()) {
      const full = `${path}/${name}`;
      const st = await lstat(full, { bigint: true });
      let detail = `${st.mode}:${st.size}:${st.mtimeNs}:${st.nlink}`;
      if (st.isFile()) detail += `:${createHash('sha256').update(await readFile(full)).digest('hex')}`;
      if (st.isSymbolicLink()) detail += `:${await readlink(full)}`;
      lines.push(`${full}:${detail}`);
      if (st.isDirectory()) await walk(full);
    }
  };
  await walk(dir);
  return lines;
}

void describe('restoreTree against malicious snapshots', () => {
  let work: string;
  let outside: string;
  let target: string;
  let sentinel: string[];

  beforeEach(async () => {
    work = await mkdtemp(`${tmpdir()}/coffer-restore-evil-`);
    outside = `${work}/outside`;
    target = `${work}/target`;
    await mkdir(`${outside}/dir`, { recursive: true });
    await writeFile(`${outside}/secret`, 'do not touch\n');
    sentinel = await fingerprint(outside);
  });
  after(async () => {
    for (const name of await readdir(tmpdir())) {
      if (name.startsWith('coffer-restore-evil-')) await rm(`${tmpdir()}/${name}`, { recursive: true, force: true });
    }
  });

  async function assertOutsideUntouched(): Promise<void> {
    assert.deepEqual(await fingerprint(outside), sentinel, 'something outside the target changed');
    // Nothing appeared next to the target either (e.g. through '..').
    for (const name of await readdir(work)) assert.ok(name === 'outside' || name === 'target', `unexpected ${name} outside the target`);
  }

  async function assertNothingRestored(): Promise<void> {
    const entries = await readdir(target).catch(() => [] as string[]);
    assert.deepEqual(entries, [], 'an unsafe snapshot must not write anything');
  }

  for (const bad of ['..', '.', '', 'a/b', '/abs', '../escape', 'nul\0byte']) {
    void it(`rejects the entry name ${JSON.stringify(bad)} before writing anything`, async () => {
      const snap = new MemorySnapshot();
      // A harmless entry first and the bad one nested one level down: the whole restore still fails up front.
      const root = snap.addTree([
        fileNode(snap, 'aaa-first', 'written before the bad entry?'),
        dirNode(snap, 'sub', [fileNode(snap, bad, 'payload')]),
      ]);
      await assert.rejects(restoreTree(snap, root, target), (err: unknown) => {
        assert.ok(err instanceof UnsafePath, String(err));
        assert.equal(err.code, 'COFFER-E206');
        assert.equal(err.path, `sub/${bad}`);
        return true;
      });
      await assertNothingRestored();
      await assertOutsideUntouched();
    });
  }

  void it('rejects duplicate names (a symlink and a directory called x)', async () => {
    const snap = new MemorySnapshot();
    const root = snap.addTree([
      makeNode({ name: 'x', type: 'symlink', linkTarget: outside }),
      dirNode(snap, 'x', [fileNode(snap, 'secret', 'overwritten!')]),
    ]);
    await assert.rejects(restoreTree(snap, root, target), (err: unknown) => err instanceof UnsafePath && err.path === 'x');
    await assertNothingRestored();
    await assertOutsideUntouched();
  });

  void it('refuses to descend through a symlink left in the target (symlink-then-write across runs)', async () => {
    const first = new MemorySnapshot();
    const linkRoot = first.addTree([
      makeNode({ name: 'x', type: 'symlink', linkTarget: outside }),
      makeNode({ name: 'y', type: 'symlink', linkTarget: `${outside}/dir` }),
    ]);
    await restoreTree(first, linkRoot, target);
    assert.equal(await readlink(`${target}/x`), outside);

    const second = new MemorySnapshot();
    const writeRoot = second.addTree([dirNode(second, 'x', [fileNode(second, 'secret', 'overwritten!'), fileNode(second, 'new', 'planted')])]);
    await assert.rejects(restoreTree(second, writeRoot, target), (err: unknown) => err instanceof UnsafePath && err.path === 'x');
    const deeper = second.addTree([dirNode(second, 'y', [dirNode(second, 'z', [fileNode(second, 'planted', 'x')])])]);
    await assert.rejects(restoreTree(second, deeper, target), (err: unknown) => err instanceof UnsafePath && err.path === 'y');
    await assertOutsideUntouched();
    assert.deepEqual((await readdir(target)).sort(), ['x', 'y']);
  });

  void it('replaces a symlink at a file path instead of writing through it', async () => {
    await mkdir(target);
    await symlink(`${outside}/secret`, `${target}/x`);
    const snap = new MemorySnapshot();
    const root = snap.addTree([fileNode(snap, 'x', 'restored content\n')]);
    await restoreTree(snap, root, target);
    assert.ok((await lstat(`${target}/x`)).isFile());
    assert.equal(await readFile(`${target}/x`, 'utf8'), 'restored content\n');
    await assertOutsideUntouched();
  });

  void it('never hard-links to a path outside the target (first occurrence is a symlink to outside)', async () => {
    const snap = new MemorySnapshot();
    const secret = await lstat(`${outside}/secret`, { bigint: true });
    const key = `${secret.dev}:${secret.ino}`;
    const nodes: TreeNode[] = [
      makeNode({ name: 'a-link', type: 'symlink', linkTarget: `${outside}/secret`, hardlinkKey: key }),
      fileNode(snap, 'b-file', 'own content\n', { hardlinkKey: key }),
      fileNode(snap, 'c-file', 'own content\n', { hardlinkKey: key }),
    ];
    const root = snap.addTree(nodes);
    await restoreTree(snap, root, target);
    const b = await lstat(`${target}/b-file`, { bigint: true });
    const c = await lstat(`${target}/c-file`, { bigint: true });
    assert.notEqual(b.ino, secret.ino);
    assert.equal(c.ino, b.ino, 'links inside the target are kept');
    assert.equal(b.nlink, 2n);
    assert.equal(await readFile(`${target}/b-file`, 'utf8'), 'own content\n');
    assert.equal((await lstat(`${outside}/secret`, { bigint: true })).nlink, 1n);
    await assertOutsideUntouched();
  });

  void it('restores NFC and NFD spellings as two distinct files', async () => {
    const snap = new MemorySnapshot();
    const root = snap.addTree([fileNode(snap, 'caf\u00e9', 'nfc'), fileNode(snap, 'cafe\u0301', 'nfd')]);
    await restoreTree(snap, root, target);
    assert.equal(await readFile(`${target}/caf\u00e9`, 'utf8'), 'nfc');
    assert.equal(await readFile(`${target}/cafe\u0301`, 'utf8'), 'nfd');
    await assertOutsideUntouched();
  });

  void it('rejects a directory cycle', async () => {
    const snap = new MemorySnapshot();
    snap.trees.set('loop', { nodes: [makeNode({ name: 'again', type: 'dir', subtree: 'loop' })] });
    await assert.rejects(restoreTree(snap, 'loop', target), (err: unknown) => err instanceof UnsafePath && err.path === 'again');
    await assertNothingRestored();
  });

  void it('rejects a chunk whose size differs from its reference, leaving no file and no temp file', async () => {
    const snap = new MemorySnapshot();
    const good = snap.addChunk(Buffer.from('twelve bytes'));
    assert.ok('chunk' in good);
    const root = snap.addTree([
      makeNode({ name: 'lying', type: 'file', size: 20, content: [{ chunk: good.chunk, size: 20 }] }),
    ]);
    await assert.rejects(restoreTree(snap, root, target), (err: unknown) => err instanceof IntegrityError);
    assert.deepEqual(await readdir(target), []);
  });

  void it('rejects content that does not add up to the size', async () => {
    const snap = new MemorySnapshot();
    const root = snap.addTree([makeNode({ name: 'short', type: 'file', size: 100, content: [{ hole: 10 }] })]);
    await assert.rejects(restoreTree(snap, root, target), (err: unknown) => err instanceof IntegrityError);
    await assertNothingRestored();
  });
});
