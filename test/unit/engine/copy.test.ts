import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { InvalidInput } from '../../../activities/errors';
import { SnapshotNotFound } from '../../../activities/repository/errors';
import { copySnapshots } from '../../../activities/engine/copy';
import type { Repository } from '../../../activities/engine/api';
import { PASS, SMALL, cleanupDir, makeBackend, pseudoRandom, readFromSnapshot, tempDir, testEngine, writeTree } from './helpers';

const PASS2 = { passphrase: 'another replica passphrase' } as const;

/** A source tree with nested directories, a duplicated file, an empty file and a zero run (a hole). */
async function fixture(dir: string): Promise<void> {
  await writeTree(dir, {
    'a/big.bin': pseudoRandom(700_000, 11),
    'a/copy-of-big.bin': pseudoRandom(700_000, 11),
    'a/b/c/deep.txt': 'deep '.repeat(5_000),
    'empty': '',
    'holes.bin': Buffer.concat([pseudoRandom(20_000, 12), Buffer.alloc(200_000), pseudoRandom(20_000, 13)]),
    'small.txt': 'hello',
  });
}

async function restoredMatches(repo: Repository, snapshot: string, target: string): Promise<void> {
  await repo.restore({ snapshot, target });
  const cmp = await repo.compare({ snapshot, target });
  assert.deepEqual(cmp.differences, [], 'restore from the destination is byte-identical');
  assert.ok(cmp.matched >= 6);
}

void describe('copySnapshots', () => {
  void it('copies into a replica sharing lifetime keys: byte-identical, verifiable, idempotent, deduplicating', async () => {
    const srcFx = await makeBackend('local');
    const dstFx = await makeBackend('memory');
    const data = await tempDir('copy-src');
    const out = await tempDir('copy-out');
    try {
      await fixture(data);
      const engine = testEngine();
      const source = await engine.init(srcFx.backend, PASS, SMALL);
      const s1 = await source.backup({ paths: [data], host: 'h', tags: ['t'] });
      const replica = await source.initReplica(dstFx.backend, PASS2, { kdf: SMALL.kdf, packSize: SMALL.packSize });
      assert.notEqual(replica.id, source.id);

      const first = await source.copySnapshots(replica, [s1.id]);
      assert.equal(first.sharedChunkIds, true);
      assert.equal(first.snapshotsCopied, 1);
      assert.ok(first.chunksCopied > 10, `copied ${first.chunksCopied} chunks`);
      assert.ok(first.bytesUploaded > 700_000 * 0.9 && first.bytesUploaded < 1_500_000, `uploaded ${first.bytesUploaded}`);

      const reopened = await engine.open(dstFx.backend, PASS2);
      const [copied] = await reopened.listSnapshots();
      assert.equal(copied.id, s1.id, 'a copied snapshot keeps its id');
      assert.equal(copied.rootTree, s1.rootTree, 'shared keys: trees copied verbatim');
      assert.deepEqual([copied.host, copied.paths, copied.tags, copied.time], [s1.host, s1.paths, s1.tags, s1.time]);
      assert.deepEqual(await readFromSnapshot(reopened, copied.rootTree, `${basename(data)}/a/big.bin`), pseudoRandom(700_000, 11));
      await restoredMatches(reopened, s1.id, out);
      assert.deepEqual((await reopened.verify({ level: 'read-data' })).findings, []);

      const again = await source.copySnapshots(reopened, [s1.id]);
      assert.deepEqual({ ...again }, { snapshotsCopied: 0, snapshotsSkipped: 1, chunksCopied: 0, chunksSkipped: 0, bytesCopied: 0, bytesUploaded: 0, sharedChunkIds: true });

      // A second snapshot with one new file: only that file's chunks (and changed trees) travel.
      await writeTree(data, { 'a/new.bin': pseudoRandom(150_000, 14) });
      const s2 = await source.backup({ paths: [data], host: 'h', parent: 'auto' });
      const incremental = await copySnapshots(source, reopened, [s1.id, 'latest']);
      assert.equal(incremental.snapshotsCopied, 1);
      assert.equal(incremental.snapshotsSkipped, 1);
      assert.ok(incremental.bytesUploaded < 250_000, `incremental upload ${incremental.bytesUploaded}`);
      assert.ok(incremental.chunksSkipped > 10, `skipped ${incremental.chunksSkipped}`);
      assert.deepEqual((await reopened.listSnapshots()).map((s) => s.id).sort(), [s1.id, s2.id].sort());

      // Backups straight into the replica deduplicate against copied data (same chunker seed and id key).
      const direct = await reopened.backup({ paths: [data], host: 'replica-host' });
      // (Only directory trees may be new: atimes changed since the first backup read the files.)
      assert.ok(direct.stats.bytesUploaded < 30_000, `direct backup into the replica uploaded ${direct.stats.bytesUploaded} of ${direct.stats.bytes} bytes`);
      await source.close();
      await replica.close();
      await reopened.close();
    } finally {
      await cleanupDir(data);
      await cleanupDir(out);
      await srcFx.cleanup();
      await dstFx.cleanup();
    }
  });

  void it('copies into an independent repository by re-hashing chunks and rewriting trees', async () => {
    const srcFx = await makeBackend('memory');
    const dstFx = await makeBackend('local');
    const data = await tempDir('copy-src');
    const out = await tempDir('copy-out');
    try {
      await fixture(data);
      const engine = testEngine();
      const source = await engine.init(srcFx.backend, PASS, SMALL);
      const s1 = await source.backup({ paths: [data], host: 'h' });
      const destination = await engine.init(dstFx.backend, PASS2, { ...SMALL, averageChunkSize: 64 * 1024 });

      const first = await source.copySnapshots(destination, [s1.id.slice(0, 12)]);
      assert.equal(first.sharedChunkIds, false);
      assert.equal(first.snapshotsCopied, 1);

      const reopened = await engine.open(dstFx.backend, PASS2);
      const [copied] = await reopened.listSnapshots();
      assert.equal(copied.id, s1.id);
      assert.notEqual(copied.rootTree, s1.rootTree, 'tree ids are the destination key\'s');
      assert.equal(copied.keyEpoch, 1);
      await restoredMatches(reopened, s1.id, out);
      assert.deepEqual((await reopened.verify({ level: 'read-data' })).findings, []);

      const again = await source.copySnapshots(reopened, [s1.id]);
      assert.equal(again.bytesUploaded, 0);
      assert.equal(again.snapshotsSkipped, 1);
      await source.close();
      await destination.close();
      await reopened.close();
    } finally {
      await cleanupDir(data);
      await cleanupDir(out);
      await srcFx.cleanup();
      await dstFx.cleanup();
    }
  });

  void it('refuses copying a repository onto itself and unknown snapshots', async () => {
    const fx = await makeBackend('memory');
    const other = await makeBackend('memory');
    try {
      const engine = testEngine();
      const repo = await engine.init(fx.backend, PASS, SMALL);
      const dest = await engine.init(other.backend, PASS, SMALL);
      await assert.rejects(repo.copySnapshots(repo, ['latest']), InvalidInput);
      await assert.rejects(repo.copySnapshots(dest, []), InvalidInput);
      await assert.rejects(repo.copySnapshots(dest, ['f'.repeat(64)]), SnapshotNotFound);
      await repo.close();
      await dest.close();
    } finally {
      await fx.cleanup();
      await other.cleanup();
    }
  });
});
