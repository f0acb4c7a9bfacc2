/**
 * Disk full: restore into a 2 MiB tmpfs (this test runs as root and mounts it),
 * expect NoSpace with no temp files and only complete files at final paths,
 * then grow the file system and resume.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';

import { NoSpace, restoreTree } from '../../../activities/engine/restore';
import { assertSameTree } from './fixture';
import { MemorySnapshot, captureDirectory } from './memory-snapshot';

void describe('restoreTree on a full disk', () => {
  let work: string;
  let mounted = false;
  const snapshot = new MemorySnapshot();
  let root: string;

  before(async () => {
    work = await mkdtemp(`${tmpdir()}/coffer-restore-nospace-`);
    await mkdir(`${work}/source/dir`, { recursive: true });
    await writeFile(`${work}/source/a-small`, randomBytes(300 * 1024));
    await writeFile(`${work}/source/b-large`, randomBytes(1536 * 1024));
    await writeFile(`${work}/source/dir/c-large`, randomBytes(1536 * 1024));
    await writeFile(`${work}/source/dir/d-small`, 'small\n');
    root = await captureDirectory(snapshot, `${work}/source`, 128 * 1024);
    await mkdir(`${work}/small`);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0755', 'tmpfs', `${work}/small`]);
    mounted = true;
  });
  after(async () => {
    if (mounted) execFileSync('umount', [`${work}/small`]);
    await rm(work, { recursive: true, force: true });
  });

  void it('fails with NoSpace, leaves no partial or temp file, and completes once there is room', async () => {
    const target = `${work}/small/target`;
    await assert.rejects(restoreTree(snapshot, root, target), (err: unknown) => {
      assert.ok(err instanceof NoSpace, String(err));
      assert.equal(err.code, 'COFFER-E210');
      return true;
    });
    const left: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      for (const name of await readdir(`${target}${rel}`)) {
        const path = `${rel}/${name}`;
        if ((await lstat(`${target}${path}`)).isDirectory()) await walk(path);
        else left.push(path);
      }
    };
    await walk('');
    assert.deepEqual(left.filter((p) => p.includes('.coffer-tmp-')), [], 'temp files removed');
    for (const path of left) {
      assert.deepEqual(await readFile(`${target}${path}`), await readFile(`${work}/source${path}`), `${path} at its final path is complete`);
    }
    assert.ok(left.length < 4, 'the restore did stop early');

    execFileSync('mount', ['-o', 'remount,size=8m', `${work}/small`]);
    const result = await restoreTree(snapshot, root, target);
    assert.equal(result.skipped, left.length);
    await assertSameTree(`${work}/source`, target);
  });
});
