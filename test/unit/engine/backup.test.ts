import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { BatchCursor } from '../../../activities/engine/api';
import {
  BACKEND_KINDS, PASS, SMALL, cleanupDir, listNames, makeBackend, pseudoRandom, readFromSnapshot, tempDir, testEngine, totalSize, writeTree,
} from './helpers';

for (const kind of BACKEND_KINDS) {
  void describe(`backup on ${kind} storage`, () => {
    void it('round-trips a tree through restore and compare, and loadChunk returns the content', async () => {
      const fx = await makeBackend(kind);
      const src = await tempDir('src');
      const dst = await tempDir('dst');
      try {
        await writeTree(src, {
          'hello.txt': 'hello\n',
          'empty': '',
          'dir/big.bin': pseudoRandom(700_000, 1),
          'dir/text.txt': 'lorem ipsum '.repeat(20_000),
          'dir/deeper/ünïcödé\nname': 'unicode',
          'other/zeros.bin': Buffer.alloc(200_000),
        });
        await symlink('/nonexistent/target', join(src, 'dangling'));
        const repo = await testEngine().init(fx.backend, PASS, SMALL);
        const snap = await repo.backup({ paths: [src], host: 'test-host', tags: ['t1'] });
        assert.equal(snap.stats.files, 6);
        assert.equal(snap.stats.errors, 0);
        const root = basename(src);
        assert.deepEqual(await readFromSnapshot(repo, snap.rootTree, `${root}/dir/big.bin`), pseudoRandom(700_000, 1));
        assert.deepEqual(await readFromSnapshot(repo, snap.rootTree, `${root}/other/zeros.bin`), Buffer.alloc(200_000));
        const restored = await repo.restore({ snapshot: snap.id.slice(0, 10), target: dst });
        assert.equal(restored.files, 7, 'six files and the symlink');
        const cmp = await repo.compare({ snapshot: 'latest', target: join(dst) });
        assert.deepEqual(cmp.differences, []);
        // Zero runs became holes: stored size is far below the logical size.
        assert.ok((await totalSize(fx.backend, 'data/')) < 700_000 + 240_000 + 100_000);
        await repo.close();
      } finally {
        await cleanupDir(src);
        await cleanupDir(dst);
        await fx.cleanup();
      }
    });

    void it('deduplicates: an unchanged second backup uploads almost nothing and reads no file', async () => {
      const fx = await makeBackend(kind);
      const src = await tempDir('src');
      try {
        await writeTree(src, { 'a.bin': pseudoRandom(500_000, 2), 'b/c.bin': pseudoRandom(300_000, 3) });
        const engine = testEngine();
        const repo = await engine.init(fx.backend, PASS, SMALL);
        const first = await repo.backup({ paths: [src], host: 'h' });
        const dataAfterFirst = await totalSize(fx.backend, 'data/');
        const reopened = await engine.open(fx.backend, PASS);
        const plan = await reopened.planBackup({ paths: [src], host: 'h', parent: 'auto' });
        let bytesRead = 0;
        for (let b = 0; b < plan.batches; b++) bytesRead += (await reopened.backupBatch(plan.planId, b, undefined)).bytesRead;
        const second = await reopened.commitBackup(plan.planId);
        assert.equal(bytesRead, 0, 'unchanged files must not be read');
        assert.equal(second.parent, first.id);
        assert.equal(second.stats.filesUnchanged, 2);
        assert.ok(second.stats.bytesUploaded < 10_000, `uploaded ${second.stats.bytesUploaded}`);
        assert.ok((await totalSize(fx.backend, 'data/')) - dataAfterFirst < 10_000);

        // A modified file (new mtime) is read again; the other is still reused.
        await appendFile(join(src, 'a.bin'), 'more');
        const third = await reopened.backup({ paths: [src], host: 'h', parent: 'auto' });
        assert.equal(third.stats.filesUnchanged, 1);
        assert.ok(third.stats.chunksDeduplicated > 0, 'the unchanged prefix deduplicates');
        assert.deepEqual(await readFromSnapshot(reopened, third.rootTree, `${basename(src)}/a.bin`), Buffer.concat([pseudoRandom(500_000, 2), Buffer.from('more')]));
      } finally {
        await cleanupDir(src);
        await fx.cleanup();
      }
    });

    void it('deduplicates a shifted copy: most chunks are found again', async () => {
      const fx = await makeBackend(kind);
      const src = await tempDir('src');
      try {
        const data = pseudoRandom(1_000_000, 4);
        await writeTree(src, { 'orig.bin': data });
        const repo = await testEngine().init(fx.backend, PASS, SMALL);
        const first = await repo.backup({ paths: [src], host: 'h' });
        await writeTree(src, { 'shifted.bin': Buffer.concat([Buffer.from('inserted prefix bytes'), data]) });
        const second = await repo.backup({ paths: [src], host: 'h', parent: first.id });
        const dataChunks = first.stats.chunksNew - 2; // minus the two trees
        assert.ok(second.stats.chunksDeduplicated >= dataChunks - 3, `dedup ${second.stats.chunksDeduplicated} of ${dataChunks}`);
        assert.ok(second.stats.bytesUploaded < data.length / 10);
      } finally {
        await cleanupDir(src);
        await fx.cleanup();
      }
    });

    void it('reports a file that vanished after planning and backs up the rest', async () => {
      const fx = await makeBackend(kind);
      const src = await tempDir('src');
      try {
        await writeTree(src, { 'keep.txt': 'keep', 'gone.txt': 'gone' });
        const repo = await testEngine().init(fx.backend, PASS, SMALL);
        const plan = await repo.planBackup({ paths: [src], host: 'h' });
        await rm(join(src, 'gone.txt'));
        const result = await repo.backupBatch(plan.planId, 0, undefined);
        assert.equal(result.unreadable.length, 1);
        assert.match(result.unreadable[0].path, /gone\.txt$/);
        assert.match(result.unreadable[0].reason, /ENOENT/);
        const snap = await repo.commitBackup(plan.planId);
        assert.equal(snap.stats.files, 1);
        assert.equal(snap.stats.errors, 1);
        // Plan objects are gone after the commit; a retried commit returns the same snapshot.
        assert.deepEqual(await listNames(fx.backend, 'plans/'), []);
        assert.equal((await repo.commitBackup(plan.planId)).id, snap.id);
      } finally {
        await cleanupDir(src);
        await fx.cleanup();
      }
    });

    void it('resumes an interrupted batch without re-reading recorded files', async () => {
      const fx = await makeBackend(kind);
      const src = await tempDir('src');
      try {
        const files: Record<string, Buffer> = {};
        for (let i = 0; i < 8; i++) files[`f${i}.bin`] = pseudoRandom(50_000, 10 + i);
        await writeTree(src, files);
        const engine = testEngine({ checkpointMs: 0 });
        const repo = await engine.init(fx.backend, PASS, SMALL);
        const plan = await repo.planBackup({ paths: [src], host: 'h' });
        assert.equal(plan.batches, 1);
        const abort = new AbortController();
        let cursor: BatchCursor | undefined;
        await assert.rejects(
          repo.backupBatch(plan.planId, 0, undefined, {
            signal: abort.signal,
            onCursor: (c) => {
              cursor = c;
              if (c.filesCompleted >= 3) abort.abort(new Error('interrupted'));
            },
          }),
          /interrupted/,
        );
        assert.ok(cursor !== undefined && cursor.filesCompleted >= 3);
        // Files already recorded are deleted: a resumed batch that tried to read them would report them.
        for (let i = 0; i < cursor.filesCompleted; i++) await rm(join(src, `f${i}.bin`));
        const reopened = await engine.open(fx.backend, PASS);
        const result = await reopened.backupBatch(plan.planId, 0, cursor);
        assert.deepEqual(result.unreadable, []);
        assert.equal(result.filesDone, 8);
        const snap = await reopened.commitBackup(plan.planId);
        assert.equal(snap.stats.files, 8);
        for (let i = 0; i < 8; i++) assert.deepEqual(await readFromSnapshot(reopened, snap.rootTree, `${basename(src)}/f${i}.bin`), files[`f${i}.bin`]);
        // A finished batch called again returns its recorded result.
      } finally {
        await cleanupDir(src);
        await fx.cleanup();
      }
    });
  });
}

void describe('backup planning', () => {
  void it('splits into batches, honours excludes, and resolves snapshots by prefix, time and filter', async () => {
    const fx = await makeBackend('memory');
    const src = await tempDir('src');
    try {
      const files: Record<string, string> = { 'skip.tmp': 'x', 'cache/a': 'y' };
      for (let i = 0; i < 10; i++) files[`d/f${i}.txt`] = `file ${i}`;
      await writeTree(src, files);
      const repo = await testEngine({ batchFiles: 3 }).init(fx.backend, PASS, SMALL);
      const plan = await repo.planBackup({ paths: [src], host: 'h1', excludes: ['*.tmp', 'cache'] });
      assert.equal(plan.files, 10);
      assert.equal(plan.batches, 4);
      for (let b = 0; b < plan.batches; b++) await repo.backupBatch(plan.planId, b, undefined);
      const s1 = await repo.commitBackup(plan.planId);
      await utimes(join(src, 'd/f1.txt'), new Date(), new Date(2000, 1, 1));
      await writeFile(join(src, 'new.txt'), 'n');
      const s2 = await repo.backup({ paths: [src], host: 'h2', tags: ['nightly'], parent: 'auto' });
      assert.equal(s2.parent, undefined, 'auto parent is per host');
      assert.equal((await repo.listSnapshots()).length, 2);
      assert.equal((await repo.resolveSnapshot('latest')).id, s2.id);
      assert.equal((await repo.resolveSnapshot('latest', { host: 'h1' })).id, s1.id);
      assert.equal((await repo.resolveSnapshot('latest', { tags: ['nightly'] })).id, s2.id);
      assert.equal((await repo.resolveSnapshot(s1.id.slice(0, 8))).id, s1.id);
      assert.equal((await repo.resolveSnapshot({ asOf: s1.time })).id, s1.id);
      await assert.rejects(repo.resolveSnapshot({ asOf: '1999-01-01T00:00:00Z' }), { code: 'COFFER-E209' });
      await assert.rejects(repo.resolveSnapshot('ffffffffffff'), { code: 'COFFER-E209' });
      await assert.rejects(repo.planBackup({ paths: [join(src, 'missing')], host: 'h' }), { code: 'COFFER-E211' });
    } finally {
      await cleanupDir(src);
      await fx.cleanup();
    }
  });

  void it('fails the backup when a canary file changed since the parent', async () => {
    const fx = await makeBackend('memory');
    const src = await tempDir('src');
    try {
      await writeTree(src, { 'canary.txt': 'do not touch', 'data.txt': 'd' });
      const repo = await testEngine().init(fx.backend, PASS, SMALL);
      await repo.backup({ paths: [src], host: 'h', canaries: ['canary.txt'] });
      await repo.backup({ paths: [src], host: 'h', parent: 'auto', canaries: ['canary.txt'] });
      await writeFile(join(src, 'canary.txt'), 'encrypted by ransomware!');
      await assert.rejects(repo.backup({ paths: [src], host: 'h', parent: 'auto', canaries: ['canary.txt'] }), { code: 'COFFER-E212' });
    } finally {
      await cleanupDir(src);
      await fx.cleanup();
    }
  });
});
