import assert from 'node:assert/strict';
import { lstat, mkdtemp, rm, truncate, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';

import type { Progress } from '../../../activities/engine/api';
import { nativeFs } from '../../../activities/engine/fs/native';
import { compareTree, restoreTree } from '../../../activities/engine/restore';
import { SPARSE_SIZE, assertSameTree, buildFixture } from './fixture';
import { MemorySnapshot, captureDirectory } from './memory-snapshot';

void describe('restoreTree round trip', () => {
  let work: string;
  const snapshot = new MemorySnapshot();
  let root: string;

  before(async () => {
    work = await mkdtemp(`${tmpdir()}/coffer-restore-rt-`);
    await buildFixture(`${work}/source`);
    root = await captureDirectory(snapshot, `${work}/source`);
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  void it('restores every entry kind identical in content and metadata, sparse and fast', async () => {
    const progress: Progress[] = [];
    const started = Date.now();
    const result = await restoreTree(snapshot, root, `${work}/restored`, { onProgress: (p) => progress.push(p) });
    const elapsedMs = Date.now() - started;
    const compared = await assertSameTree(`${work}/source`, `${work}/restored`);
    assert.ok(compared >= 25, `compared ${compared} entries`);
    assert.equal(result.skipped, 0);
    assert.equal(result.files, 20);
    assert.equal(result.dirs, 6);

    const sparse = await lstat(`${work}/restored/sparse.img`, { bigint: true });
    assert.equal(sparse.size, BigInt(SPARSE_SIZE));
    const allocated = Number(sparse.blocks) * 512;
    assert.ok(allocated < 1024 * 1024, `sparse file allocates ${allocated} bytes of ${SPARSE_SIZE}`);
    assert.ok(elapsedMs < 15_000, `restore took ${elapsedMs} ms`);

    const last = progress[progress.length - 1];
    assert.ok(last !== undefined);
    assert.equal(last.filesDone, last.filesTotal);
    assert.equal(last.bytesDone, last.bytesTotal);
    assert.ok((last.bytesTotal ?? 0) > SPARSE_SIZE);

    const comparison = await compareTree(snapshot, root, `${work}/restored`);
    assert.deepEqual(comparison.differences, []);
    assert.equal(comparison.matched, compared);
  });

  void it('compareTree reports content, size, mode, mtime, xattr, symlink and hard-link differences with paths', async () => {
    const dir = `${work}/changed`;
    await restoreTree(snapshot, root, dir);
    // A one-byte change that keeps the size and restores the mtime.
    const before = await lstat(`${dir}/sub/mixed.bin`, { bigint: true });
    const handle = await (await import('node:fs/promises')).open(`${dir}/sub/mixed.bin`, 'r+');
    await handle.write(Buffer.from([0x5a]), 0, 1, 150_000);
    await handle.close();
    nativeFs().lutimens(`${dir}/sub/mixed.bin`, before.atimeNs, before.mtimeNs);
    await chmod(`${dir}/setuid-bin`, 0o755);
    nativeFs().lutimens(`${dir}/empty`, 1n, 2n);
    nativeFs().lsetxattr(`${dir}/sub`, 'user.dir-attr', Buffer.from('changed'));
    await rm(`${dir}/dangling`);
    await (await import('node:fs/promises')).symlink('/elsewhere', `${dir}/dangling`);
    await rm(`${dir}/sub/hl-b`);
    await writeFile(`${dir}/sub/hl-b`, 'hard linked content\n');
    await truncate(`${dir}/unicode-ünïcødé-日本語.txt`, 3);
    await writeFile(`${dir}/extra-file`, 'not in the snapshot');
    const sparseBefore = await lstat(`${dir}/sparse.img`, { bigint: true });
    const sparse = await (await import('node:fs/promises')).open(`${dir}/sparse.img`, 'r+');
    await sparse.write(Buffer.from('x'), 0, 1, 2 * 1024 ** 3);
    await sparse.close();
    nativeFs().lutimens(`${dir}/sparse.img`, sparseBefore.atimeNs, sparseBefore.mtimeNs);

    const { differences } = await compareTree(snapshot, root, dir);
    const paths = (what: RegExp): string[] => differences.filter((d) => what.test(d.what)).map((d) => d.path).sort();
    assert.deepEqual(paths(/^content differs/), ['sparse.img', 'sub/mixed.bin']);
    assert.deepEqual(paths(/^mode/), ['setuid-bin']);
    assert.ok(paths(/^mtime/).includes('empty'));
    assert.deepEqual(paths(/^extended attributes/), ['sub']);
    assert.deepEqual(paths(/^symlink target/), ['dangling']);
    assert.deepEqual(paths(/hard-linked/), ['sub/hl-b']);
    assert.deepEqual(paths(/^size/), ['unicode-ünïcødé-日本語.txt']);
    assert.deepEqual(paths(/not in the snapshot/), ['extra-file']);
  });
});
