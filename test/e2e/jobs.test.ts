/**
 * The other jobs end to end on a real local-disk repository: DR drill (pass,
 * and a loud failure on a missed objective), verify (structure, subset,
 * read-data, and damage found as findings), retention (dry run changes
 * nothing, refusal, real forget + prune), key rotation, replication to an
 * independent repository and to a replica on MinIO.
 */
import assert from 'node:assert/strict';
import { open, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { SnapshotEntry } from '../../activities/repository';
import type { BackupResult } from '../../workflows/backup';
import type { DrillReport } from '../../workflows/dr-drill';
import type { RestoreOutput } from '../../workflows/restore';
import type { RetentionResult } from '../../workflows/retention';
import type { RotateKeysResult } from '../../workflows/rotate-keys';
import type { ReplicateResult } from '../../workflows/replicate';
import type { VerifyResult } from '../../workflows/verify';
import { stackVar } from '../helpers/stack';
import { failureCode, startHarness, TEST_INIT_OPTIONS } from './harness';
import type { Harness } from './harness';
import { makeTree, treeDifferences } from './trees';

async function listSnapshots(h: Harness, repo: string): Promise<SnapshotEntry[]> {
  const deps = h.deps;
  assert.ok(deps !== undefined);
  const snapshots = await deps.repositories.use(repo, async (r) => r.listSnapshots());
  return snapshots.map((s) => ({ id: s.id, time: s.time, host: s.host, paths: s.paths, tags: s.tags }));
}

void describe('drill, verify, retention, key rotation, replication', () => {
  let h: Harness;
  let repo: string;
  let source: string;
  const backups: BackupResult[] = [];

  before(async () => {
    h = await startHarness();
    repo = join(h.tmp, 'repo');
    source = join(h.tmp, 'src');
    await makeTree(source, { smallFiles: 25, largeFiles: [2 * 1024 * 1024] });
    await h.run('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
    for (let i = 0; i < 3; i++) {
      await writeFile(join(source, `generation-${i}.txt`), `generation ${i}\n`.repeat(1000 * (i + 1)));
      backups.push(await h.run<BackupResult>('backupWorkflow', { repo, paths: [source], host: h.host, hostQueue: h.hostQueue, tags: i === 0 ? ['first'] : [] }));
    }
  });
  after(async () => h.close());

  void test('DR drill: restores the latest snapshot to scratch, compares, measures RTO/RPO, cleans up', async () => {
    const report = await h.run<DrillReport>('drDrillWorkflow', { repo, host: h.host, hostQueue: h.hostQueue, rtoObjectiveSeconds: 600, rpoObjectiveSeconds: 3600 });
    assert.equal(report.passed, true);
    assert.deepEqual(report.gaps, []);
    assert.equal(report.snapshotId, backups[2]?.snapshot.id);
    assert.equal(report.compare.differences, 0);
    assert.ok(report.restored.files >= 30);
    assert.ok(report.rtoSeconds > 0 && report.rtoSeconds < 600);
    assert.ok(report.rpoSeconds >= 0 && report.rpoSeconds < 3600);
    assert.deepEqual(await readdir(join(h.tmp, 'scratch')), []);
    assert.match(report.storedAs ?? '', /.+/);
    const stored = await h.deps!.repositories.use(repo, async (r) => r.listDrillReports());
    assert.ok(stored.some((s) => s.snapshotId === report.snapshotId && s.passed && s.rtoMs === Math.round(report.rtoSeconds * 1000)));
    console.log(`# drill: ${report.restored.files} files, RTO ${report.rtoSeconds.toFixed(2)} s, RPO ${report.rpoSeconds.toFixed(1)} s`);
  });

  void test('DR drill fails loudly (non-retryable, report attached) when an objective is missed', async () => {
    await assert.rejects(
      h.run('drDrillWorkflow', { repo, snapshot: backups[0]?.snapshot.id, host: h.host, hostQueue: h.hostQueue, rpoObjectiveSeconds: 0.001 }),
      (err: unknown) => {
        assert.equal(failureCode(err), 'COFFER-E407');
        let cause: unknown = err;
        while (cause instanceof Error && !(cause instanceof ApplicationFailure)) cause = cause.cause;
        assert.ok(cause instanceof ApplicationFailure);
        assert.equal(cause.nonRetryable, true);
        const report = cause.details?.[1] as DrillReport;
        assert.equal(report.passed, false);
        assert.equal(report.compare.differences, 0);
        assert.match(report.gaps.join(';'), /RPO .* exceeds the objective/);
        assert.ok(report.storedAs !== undefined, 'a failed drill is recorded too');
        return true;
      },
    );
    assert.deepEqual(await readdir(join(h.tmp, 'scratch')), []);
  });

  void test('verify: structure, a subset, and every byte', async () => {
    const structure = await h.run<VerifyResult>('verifyWorkflow', { repo });
    assert.equal(structure.level, 'structure');
    assert.equal(structure.ok, true);
    assert.equal(structure.snapshotsChecked, 3);
    const half = await h.run<VerifyResult>('verifyWorkflow', { repo, subset: '1/2' });
    const otherHalf = await h.run<VerifyResult>('verifyWorkflow', { repo, subset: { n: 2, t: 2 } });
    const full = await h.run<VerifyResult>('verifyWorkflow', { repo, level: 'read-data' });
    assert.equal(half.level, 'read-data');
    assert.ok(half.ok && otherHalf.ok && full.ok);
    assert.equal(half.packsChecked + otherHalf.packsChecked, full.packsChecked);
    await assert.rejects(h.run('verifyWorkflow', { repo, subset: '3/2' }), (err: unknown) => failureCode(err) === 'COFFER-E100');
  });

  void test('retention: dry run changes nothing, emptying a group is refused, a real run forgets and prunes', async () => {
    const dry = await h.run<RetentionResult>('retentionWorkflow', { repo, policy: { keepLast: 1 }, dryRun: true });
    assert.equal(dry.dryRun, true);
    assert.equal(dry.removed, 2);
    assert.equal(dry.prune?.dryRun, true);
    assert.equal((await listSnapshots(h, repo)).length, 3);

    await assert.rejects(h.run('retentionWorkflow', { repo, policy: { keepTags: ['no-such-tag'] } }), (err: unknown) => failureCode(err) === 'COFFER-E408');
    assert.equal((await listSnapshots(h, repo)).length, 3);

    const real = await h.run<RetentionResult>('retentionWorkflow', { repo, policy: { keepLast: 1, keepTags: ['first'] }, graceSeconds: 0 });
    assert.equal(real.removed, 1);
    assert.deepEqual(real.prune?.snapshotsRemoved, [backups[1]?.snapshot.id]);
    const left = (await listSnapshots(h, repo)).map((s) => s.id).sort();
    assert.deepEqual(left, [backups[0]?.snapshot.id, backups[2]?.snapshot.id].sort());
    const verify = await h.run<VerifyResult>('verifyWorkflow', { repo, level: 'read-data' });
    assert.equal(verify.ok, true);
  });

  void test('key rotation: new epoch, every pack re-encrypted, data still restores', async () => {
    const rotated = await h.run<RotateKeysResult>('rotateKeysWorkflow', { repo, packsPerBatch: 2, batchesPerRun: 3 });
    assert.ok(rotated.newEpoch >= 2);
    assert.equal(rotated.final.packsRemaining, 0);
    assert.ok(rotated.batches >= 1);
    const restored = await h.run<RestoreOutput>('restoreWorkflow', { repo, target: join(h.tmp, 'after-rotation'), host: h.host, hostQueue: h.hostQueue });
    assert.equal(restored.verified.differences, 0);
    assert.deepEqual(await treeDifferences(source, join(h.tmp, 'after-rotation', 'src')), []);
    console.log(`# rotation: epoch ${rotated.newEpoch}, ${rotated.packsRotated} packs in ${rotated.batches} batches over ${rotated.runs} runs`);
  });

  void test('replication: to an independent repository, and to a replica created on MinIO; re-runs copy nothing; the copy restores', async () => {
    const snapshotIds = (await listSnapshots(h, repo)).map((s) => s.id).sort();
    const secondary = join(h.tmp, 'secondary');
    await h.run('initRepositoryWorkflow', { repo: secondary, options: TEST_INIT_OPTIONS });
    const first = await h.run<ReplicateResult>('replicateWorkflow', { source: repo, destination: secondary, verifyReadData: true });
    assert.equal(first.ok, true);
    assert.equal(first.copied.snapshotsCopied, snapshotIds.length);
    assert.equal(first.copied.sharedChunkIds, false);
    assert.ok(first.copied.chunksCopied > 0);
    assert.deepEqual((await listSnapshots(h, secondary)).map((s) => s.id).sort(), snapshotIds);
    const again = await h.run<ReplicateResult>('replicateWorkflow', { source: repo, destination: secondary });
    assert.equal(again.copied.snapshotsCopied, 0);
    assert.equal(again.copied.snapshotsSkipped, snapshotIds.length);
    assert.equal(again.copied.bytesUploaded, 0);

    const offsite = `s3://${stackVar('COFFER_S3_BUCKET')}/e2e/${h.id}/replica`;
    const replica = await h.run<ReplicateResult>('replicateWorkflow', { source: repo, destination: offsite, initDestination: true, initOptions: TEST_INIT_OPTIONS });
    assert.equal(replica.replica?.created, true);
    assert.equal(replica.copied.sharedChunkIds, true);
    assert.equal(replica.ok, true);
    const target = join(h.tmp, 'from-replica');
    const restored = await h.run<RestoreOutput>('restoreWorkflow', { repo: offsite, target, host: h.host, hostQueue: h.hostQueue });
    assert.equal(restored.verified.differences, 0);
    assert.deepEqual(await treeDifferences(source, join(target, 'src')), []);
    console.log(`# replication: ${first.copied.snapshotsCopied} snapshots, ${first.copied.chunksCopied} chunks, ${first.copied.bytesUploaded} B uploaded; replica on MinIO: ${replica.copied.bytesUploaded} B`);
  });

  void test('verify reports damaged data as findings (the job itself succeeds)', async () => {
    const packs: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) await walk(join(dir, entry.name));
        else packs.push(join(dir, entry.name));
      }
    };
    await walk(join(repo, 'data'));
    assert.ok(packs.length > 0);
    const victim = packs.sort()[0];
    const handle = await open(victim, 'r+');
    try {
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, 100);
      byte[0] = (byte[0]) ^ 0xff;
      await handle.write(byte, 0, 1, 100);
    } finally {
      await handle.close();
    }
    const report = await h.run<VerifyResult>('verifyWorkflow', { repo, level: 'read-data' });
    assert.equal(report.ok, false);
    assert.ok(report.findings > 0);
    assert.ok(report.findingSample.length > 0);
  });
});
