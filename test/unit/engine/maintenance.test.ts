import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Keyring } from '../../../activities/crypto/keyring';
import { generateRecipientKeyPair } from '../../../activities/crypto/keyfile';
import type { CofferRepository } from '../../../activities/engine/repository';
import { sealJson } from '../../../activities/repository/envelope';
import { Names, ObjectType } from '../../../activities/repository/format';
import { BACKEND_KINDS, PASS, SMALL, cleanupDir, listNames, makeBackend, pseudoRandom, readFromSnapshot, tempDir, testEngine, totalSize, writeTree } from './helpers';

for (const kind of BACKEND_KINDS) {
  void describe(`prune on ${kind} storage`, () => {
    void it('forgets snapshots, frees their space, repacks partly used packs and keeps everything referenced', async () => {
      const fx = await makeBackend(kind);
      const src = await tempDir('src');
      const dst = await tempDir('dst');
      try {
        await writeTree(src, { 'keep.bin': pseudoRandom(400_000, 1), 'old.bin': pseudoRandom(600_000, 2) });
        const engine = testEngine();
        const repo = await engine.init(fx.backend, PASS, SMALL);
        const s1 = await repo.backup({ paths: [src], host: 'h' });
        await rm(join(src, 'old.bin'));
        await writeTree(src, { 'new.txt': 'new' });
        const s2 = await repo.backup({ paths: [src], host: 'h', parent: 'auto' });
        const before = await totalSize(fx.backend, 'data/');

        const dry = await repo.prune({ keep: [s2.id], graceMs: 0, dryRun: true });
        assert.deepEqual(dry.snapshotsRemoved, [s1.id]);
        assert.ok(dry.bytesFreed > 400_000, `dry run predicts ${dry.bytesFreed}`);
        assert.equal(await totalSize(fx.backend, 'data/'), before, 'dry run changes nothing');
        assert.equal((await repo.listSnapshots()).length, 2);

        // Within the grace period nothing young is touched (snapshots included).
        const graced = await repo.prune({ keep: [s2.id], graceMs: 3_600_000 });
        assert.deepEqual(graced.snapshotsRemoved, []);
        assert.equal(graced.packsDeleted + graced.packsRepacked, 0);

        const report = await repo.prune({ keep: [s2.id], graceMs: 0 });
        assert.deepEqual(report.snapshotsRemoved, [s1.id]);
        assert.ok(report.packsDeleted + report.packsRepacked > 0);
        const after = await totalSize(fx.backend, 'data/');
        assert.ok(before - after > 400_000, `freed ${before - after}`);
        assert.equal((await listNames(fx.backend, 'index/')).length, 1, 'one consolidated index');

        const reopened = await engine.open(fx.backend, PASS);
        assert.deepEqual((await reopened.listSnapshots()).map((s) => s.id), [s2.id]);
        const verify = await reopened.verify({ level: 'read-data' });
        assert.deepEqual(verify.findings, []);
        await reopened.restore({ snapshot: s2.id, target: dst });
        assert.deepEqual((await reopened.compare({ snapshot: s2.id, target: dst })).differences, []);
        assert.deepEqual(await readFromSnapshot(reopened, s2.rootTree, `${basename(src)}/keep.bin`), pseudoRandom(400_000, 1));

        // Pruning again with nothing to forget changes nothing.
        const idle = await reopened.prune({ keep: [s2.id], graceMs: 0 });
        assert.equal(idle.packsDeleted + idle.packsRepacked, 0);
      } finally {
        await cleanupDir(src);
        await cleanupDir(dst);
        await fx.cleanup();
      }
    });
  });
}

void describe('prune and concurrent backups', () => {
  void it('keeps chunks recorded by a backup in progress and honours locks', async () => {
    const fx = await makeBackend('memory');
    const src = await tempDir('src');
    try {
      await writeTree(src, { 'a.bin': pseudoRandom(300_000, 5) });
      const engine = testEngine();
      const repo = (await engine.init(fx.backend, PASS, SMALL)) as CofferRepository;
      const plan = await repo.planBackup({ paths: [src], host: 'h' });
      await repo.backupBatch(plan.planId, 0, undefined);
      // The batch is done but not committed; no snapshot references its chunks yet.
      const report = await repo.prune({ keep: [], graceMs: 0 });
      assert.equal(report.packsDeleted, 0);
      const snap = await repo.commitBackup(plan.planId);
      assert.deepEqual(await readFromSnapshot(repo, snap.rootTree, `${basename(src)}/a.bin`), pseudoRandom(300_000, 5));

      // A live shared lock blocks prune (exclusive); an expired one does not.
      const lock = await repo.core.lock('shared', 'test-backup');
      await assert.rejects(repo.prune({ keep: [snap.id], graceMs: 0 }), { code: 'COFFER-E204' });
      await lock.release();
      const staleId = 'f'.repeat(64);
      const record = { kind: 'exclusive', operation: 'crashed', host: 'elsewhere', pid: 1, created: new Date(0).toISOString(), expiresMs: Date.now() - 1000 };
      await fx.backend.save(Names.lock(staleId), sealJson(repo.core.keyring, repo.core.target(ObjectType.lock, staleId, Names.lock(staleId)), record));
      await repo.prune({ keep: [snap.id], graceMs: 0 });
      assert.deepEqual(await listNames(fx.backend, 'locks/'), [], 'stale lock removed, own lock released');
    } finally {
      await cleanupDir(src);
      await fx.cleanup();
    }
  });
});

void describe('verify subsets', () => {
  void it('n/t over t runs checks every pack exactly once', async () => {
    const fx = await makeBackend('memory');
    const src = await tempDir('src');
    try {
      const files: Record<string, Buffer> = {};
      for (let i = 0; i < 6; i++) files[`f${i}`] = pseudoRandom(150_000, 20 + i);
      await writeTree(src, files);
      const repo = await testEngine().init(fx.backend, PASS, SMALL);
      await repo.backup({ paths: [src], host: 'h' });
      const full = await repo.verify({ level: 'read-data' });
      assert.equal(full.packsChecked, (await listNames(fx.backend, 'data/')).length);
      let packs = 0;
      let chunks = 0;
      for (let n = 1; n <= 3; n++) {
        const part = await repo.verify({ level: 'read-data', subset: { n, t: 3 } });
        assert.deepEqual(part.findings, []);
        packs += part.packsChecked;
        chunks += part.chunksChecked;
      }
      assert.equal(packs, full.packsChecked);
      assert.equal(chunks, full.chunksChecked);
      await assert.rejects(repo.verify({ level: 'read-data', subset: { n: 4, t: 3 } }), { code: 'COFFER-E100' });
    } finally {
      await cleanupDir(src);
      await fx.cleanup();
    }
  });
});

for (const kind of BACKEND_KINDS) {
  void describe(`key rotation on ${kind} storage`, () => {
    void it('re-encrypts everything under a new epoch; a fresh open holds only the new epoch', async () => {
      const fx = await makeBackend(kind);
      const src = await tempDir('src');
      const dst = await tempDir('dst');
      try {
        await writeTree(src, { 'a.bin': pseudoRandom(400_000, 7), 'b.txt': 'bee' });
        const engine = testEngine();
        const repo = (await engine.init(fx.backend, PASS, SMALL)) as CofferRepository;
        const pair = await generateRecipientKeyPair();
        const recipient = { x25519PublicKey: pair.publicKey, x25519SecretKey: pair.secretKey };
        await repo.addKey(recipient, 'escrow');
        const s1 = await repo.backup({ paths: [src], host: 'h' });
        const oldKeyring = Keyring.deserialize(repo.core.keyring.serialize());

        const started = await repo.beginRotation();
        assert.equal(started.newEpoch, 2);
        assert.ok(started.packsRemaining > 0);
        assert.equal(repo.currentEpoch, 2);
        // Another session opening now gets the new epoch and writes with it.
        const other = await engine.open(fx.backend, PASS);
        assert.equal(other.currentEpoch, 2);
        await writeTree(src, { 'c.txt': 'written during rotation' });
        const s2 = await other.backup({ paths: [src], host: 'h', parent: 'auto' });
        assert.equal(s2.keyEpoch, 2);
        await assert.rejects(repo.finishRotation(), { code: 'COFFER-E100' });

        let status = started;
        let rounds = 0;
        while (status.packsRemaining > 0) {
          status = await repo.rotateBatch(2);
          rounds++;
          assert.ok(rounds < 50);
        }
        // Idempotent: nothing left to do.
        assert.equal((await repo.rotateBatch(2)).packsRemaining, 0);
        const finished = await repo.finishRotation();
        assert.equal(finished.packsRemaining, 0);

        const fresh = (await engine.open(fx.backend, PASS)) as CofferRepository;
        assert.deepEqual(fresh.core.keyring.epochNumbers, [2]);
        assert.deepEqual((await fresh.listSnapshots()).map((s) => s.id).sort(), [s1.id, s2.id].sort());
        assert.deepEqual((await fresh.verify({ level: 'read-data' })).findings, []);
        await fresh.restore({ snapshot: s1.id, target: dst });
        assert.deepEqual((await fresh.compare({ snapshot: s1.id, target: dst })).differences.filter((d) => !d.path.endsWith('c.txt')), []);
        assert.deepEqual(await readFromSnapshot(fresh, s2.rootTree, `${basename(src)}/a.bin`), pseudoRandom(400_000, 7));
        const viaRecipient = (await engine.open(fx.backend, recipient)) as CofferRepository;
        assert.deepEqual(viaRecipient.core.keyring.epochNumbers, [2]);
        assert.equal((await fresh.listKeys()).length, 2);

        // Every stored object now needs the new epoch: the old keyring opens nothing.
        assert.equal(oldKeyring.hasEpoch(2), false);
        for (const o of await listNames(fx.backend, 'snapshots/')) assert.match(o.name, /\.e2$/);
      } finally {
        await cleanupDir(src);
        await cleanupDir(dst);
        await fx.cleanup();
      }
    });

    void it('refuses to start while a passphrase key it cannot re-wrap exists', async () => {
      const fx = await makeBackend(kind);
      try {
        const repo = await testEngine().init(fx.backend, PASS, SMALL);
        await repo.addKey({ passphrase: 'someone else' });
        await assert.rejects(repo.beginRotation(), { code: 'COFFER-E100' });
      } finally {
        await fx.cleanup();
      }
    });
  });
}

void describe('retention-locked repositories', () => {
  void it('lock packs, index and snapshots; prune skips what it may not delete; disks without locks are refused', async () => {
    const mem = await makeBackend('memory');
    const local = await makeBackend('local');
    const src = await tempDir('src');
    try {
      await writeTree(src, { 'a.bin': pseudoRandom(300_000, 9) });
      const engine = testEngine();
      await assert.rejects(engine.init(local.backend, PASS, { ...SMALL, retentionDays: 7 }), { code: 'COFFER-E100' });
      const repo = await engine.init(mem.backend, PASS, { ...SMALL, retentionDays: 7 });
      await repo.backup({ paths: [src], host: 'h' });
      const [pack] = await listNames(mem.backend, 'data/');
      await assert.rejects(mem.backend.remove(pack.name), { code: 'COFFER-E305' });
      const before = await totalSize(mem.backend, 'data/');
      const report = await repo.prune({ keep: [], graceMs: 0 });
      assert.deepEqual(report.snapshotsRemoved, [], 'retention-locked, so not removed');
      assert.equal(await totalSize(mem.backend, 'data/'), before, 'locked packs stay');
      assert.equal((await repo.listSnapshots()).length, 1, 'a locked snapshot cannot be forgotten');
    } finally {
      await cleanupDir(src);
      await mem.cleanup();
      await local.cleanup();
    }
  });
});

void describe('prune with nothing to free', () => {
  void it('repacks nothing when every blob is referenced, however small its packs (their headers are not waste)', async () => {
    const fx = await makeBackend('memory');
    const src = await tempDir('src');
    try {
      await writeTree(src, { 'a.txt': 'a', 'b.txt': 'bb', 'sub/c.txt': 'ccc' });
      const repo = await testEngine().init(fx.backend, PASS, SMALL);
      const snap = await repo.backup({ paths: [src], host: 'h' });
      const packsBefore = await listNames(fx.backend, 'data/');
      for (let round = 0; round < 2; round++) {
        const report = await repo.prune({ keep: [snap.id], graceMs: 0 });
        assert.equal(report.packsRepacked, 0, `round ${round}: tiny, fully used packs are left alone`);
        assert.equal(report.packsDeleted, 0);
      }
      assert.deepEqual(await listNames(fx.backend, 'data/'), packsBefore);
    } finally {
      await cleanupDir(src);
      await fx.cleanup();
    }
  });
});
