import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';

import { compareTree, restoreTree } from '../../../activities/engine/restore';
import { assertSameTree } from './fixture';
import { MemorySnapshot, captureDirectory } from './memory-snapshot';

const TEMP = /^\.coffer-tmp-/;

async function listAll(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(`${dir}${rel}`)) {
    const path = `${rel}/${name}`;
    out.push(path);
    if ((await lstat(`${dir}${path}`)).isDirectory()) out.push(...(await listAll(dir, path)));
  }
  return out;
}

void describe('restoreTree resume after an interruption', () => {
  let work: string;
  const snapshot = new MemorySnapshot();
  let root: string;

  before(async () => {
    work = await mkdtemp(`${tmpdir()}/coffer-restore-resume-`);
    const src = `${work}/source`;
    for (const dir of ['a', 'b', 'b/c']) await mkdir(`${src}/${dir}`, { recursive: true });
    for (let i = 0; i < 30; i++) await writeFile(`${src}/${['a', 'b', 'b/c'][i % 3]}/file-${i}`, randomBytes(3 * 4096 + i));
    await link(`${src}/a/file-0`, `${src}/b/c/link-to-0`);
    await symlink('../a/file-3', `${src}/b/sym`);
    root = await captureDirectory(snapshot, src, 4096);
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  void it('an aborted restore leaves only complete files, and a second run skips them and completes', async () => {
    const target = `${work}/target`;
    const controller = new AbortController();
    snapshot.beforeChunk = (loads) => {
      if (loads === 40) controller.abort(new Error('stop here'));
    };
    await assert.rejects(restoreTree(snapshot, root, target, { signal: controller.signal }), /stop here/);
    snapshot.beforeChunk = undefined;

    const partial = await listAll(target);
    assert.deepEqual(partial.filter((p) => TEMP.test(p.split('/').pop() ?? '')), [], 'no temp files after abort');
    const finals = partial.filter((p) => /file-\d+$/.test(p));
    assert.ok(finals.length > 3 && finals.length < 30, `${finals.length} files completed before the abort`);
    for (const path of finals) {
      assert.deepEqual(await readFile(`${target}${path}`), await readFile(`${work}/source${path}`), `${path} is complete`);
    }

    const loadsBefore = snapshot.chunkLoads;
    const result = await restoreTree(snapshot, root, target);
    assert.ok(result.skipped >= finals.length, `skipped ${result.skipped}`);
    assert.equal(result.files + result.skipped, 32);
    // Skipped files' chunks are not loaded again.
    assert.ok(snapshot.chunkLoads - loadsBefore <= (32 - finals.length) * 4, 'completed files were not rewritten');
    await assertSameTree(`${work}/source`, target);
    assert.deepEqual((await compareTree(snapshot, root, target)).differences, []);
  });

  void it('removes temp files a crashed run left behind', async () => {
    const target = `${work}/crashed`;
    await mkdir(`${target}/b`, { recursive: true });
    await writeFile(`${target}/b/.coffer-tmp-0123456789abcdef`, 'half written');
    const result = await restoreTree(snapshot, root, target);
    assert.equal(result.skipped, 0);
    await assertSameTree(`${work}/source`, target);
  });
});
