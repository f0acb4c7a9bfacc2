/**
 * Scenario 6a — the worker dies.
 *
 * A real worker child process (`node --import tsx workers/main.ts`, unique
 * task queues) runs a backup, a restore and a key rotation through the
 * stack's Temporal server. At seeded random moments it is SIGKILLed and a
 * new worker is started (COFFER_CHAOS_KILLS kills, default 20, heavy 40).
 * The three jobs run in rounds (each round adds files to the source first)
 * until every kill has landed, at most 3 per job, so quick jobs cannot let
 * kills go unspent. Every job must complete on the new worker:
 *   backup    its snapshot restores byte-identical (checked independently
 *             with the engine after the rotation) and verify read-data is clean;
 *   restore   the restored tree equals the source manifest;
 *   rotation  finishes with no pack left on the old epoch, and the data
 *             still restores byte-identical under the new keys.
 * Bytes stored beyond what an uninterrupted backup stores (packs a killed
 * attempt uploaded but never indexed) are measured and printed.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { Repository } from '../../activities/engine/api';
import { LocalBackend } from '../../activities/storage/local';
import type { BackupResult } from '../../workflows/backup';
import type { RestoreOutput } from '../../workflows/restore';
import type { RotateKeysResult } from '../../workflows/rotate-keys';
import { startHarness, TEST_INIT_OPTIONS, TEST_PASSWORD, uniqueId } from '../e2e/harness';
import type { Harness } from '../e2e/harness';
import { spawnWorker } from './child-worker';
import type { ChildWorker } from './child-worker';
import { ChaosReport } from './report';
import { Prng, chaosEngine, describeError, manifestDiff, manifestOf, removeDir, writeDataset } from './helpers';
import type { Manifest } from './helpers';

const SCENARIO = 'worker-kill';
const HEAVY = process.env.COFFER_CHAOS_HEAVY === '1';
const KILLS = Number(process.env.COFFER_CHAOS_KILLS ?? (HEAVY ? 40 : 20));
const KILLS_PER_JOB = 3;
const MAX_ROUNDS = Math.ceil(KILLS / 3) + 4;
const report = new ChaosReport();
report.declare(SCENARIO);

async function dataBytes(root: string): Promise<number> {
  const backend = new LocalBackend({ root });
  let total = 0;
  for await (const o of backend.list('data/')) total += o.size;
  await backend.close();
  return total;
}

void describe('chaos: SIGKILL the worker during backup, restore and key rotation', () => {
  let h: Harness;
  let source: string;
  let repo: string;
  let manifest: Manifest;
  let logFile: string;
  let worker: ChildWorker | undefined;
  const rnd = new Prng(Number(process.env.COFFER_CHAOS_SEED ?? 6060));
  let kills = 0;
  let killsMidJob = 0;

  before(async () => {
    h = await startHarness({ workers: false });
    source = join(h.tmp, 'source');
    repo = join(h.tmp, 'repo');
    logFile = join(h.tmp, 'worker.log');
    await writeDataset(source, 6001, { files: 120, minSize: 10_000, maxSize: 200_000, dirs: 5, textShare: 0.4 });
    await writeDataset(join(source, 'large'), 6002, { files: 3, minSize: 3_000_000, maxSize: 4_000_000, dirs: 1, textShare: 0 });
    manifest = await manifestOf(source);
  });

  after(async () => {
    await worker?.kill();
    await h.close();
  });

  async function startWorker(): Promise<void> {
    worker = spawnWorker(h.childEnv({ COFFER_ENGINE_BATCH_FILES: '10' }), logFile);
    await worker.ready;
  }

  /** Runs a job, SIGKILLing the worker up to `killCount` times at random moments, restarting it each time. */
  async function withKills<R>(job: string, killCount: number, start: () => Promise<WorkflowHandle>): Promise<R> {
    const handle = await start();
    const result = handle.result() as Promise<R>;
    let done = false;
    void result.then(() => (done = true), () => (done = true));
    const began = Date.now();
    for (let k = 0; k < killCount && !done; k++) {
      // Short first delays: quick jobs (a restore of a few MiB) must be hit too.
      await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 100 + rnd.int(k === 0 ? 1500 : 4000)))]);
      if (done) break;
      const running = (await handle.describe()).status.name === 'RUNNING';
      await worker?.kill('SIGKILL');
      kills++;
      if (running) killsMidJob++;
      report.count(SCENARIO, `kills-${job}`);
      await startWorker();
    }
    const value = await result;
    report.detail(SCENARIO, `last-${job}-ms`, Date.now() - began);
    return value;
  }

  void it(`backup, restore and rotation complete despite ${KILLS} SIGKILLs; nothing lost`, { timeout: 40 * 60_000 }, async () => {
    await startWorker();
    await h.run('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
    const hostInput = { host: h.host, hostQueue: h.hostQueue };
    const baselineDir = join(h.tmp, 'baseline');
    const baseline = await chaosEngine().init(new LocalBackend({ root: baselineDir }), { passphrase: 'baseline' }, TEST_INIT_OPTIONS);
    const snapshots: { id: string; manifest: Manifest }[] = [];
    let reuploaded = 0;
    let rotated: RotateKeysResult | undefined;
    let round = 0;
    const budget = (): number => Math.min(KILLS_PER_JOB, Math.max(0, KILLS - kills));

    try {
      while (kills < KILLS && round < MAX_ROUNDS) {
        round++;
        if (round > 1) {
          await writeDataset(join(source, `round-${round}`), 6100 + round, { files: 40, minSize: 10_000, maxSize: 200_000, dirs: 2, textShare: 0.4 });
          await writeDataset(join(source, `round-${round}`, 'large'), 6200 + round, { files: 1, minSize: 3_000_000, maxSize: 4_000_000, dirs: 1, textShare: 0 });
        }
        manifest = await manifestOf(source);

        // Backup; bytes stored beyond an uninterrupted backup of the same data (same parent chain) are re-uploads.
        const repoBefore = await dataBytes(repo);
        let backup: BackupResult;
        try {
          backup = await withKills<BackupResult>('backup', budget(), () =>
            h.client.workflow.start('backupWorkflow', { taskQueue: h.taskQueue, workflowId: uniqueId('chaos-backup'), args: [{ repo, paths: [source], ...hostInput }] }));
          report.count(SCENARIO, 'backup-batches', backup.plan.batches);
          report.count(SCENARIO, 'backup-resumed-batches', backup.totals.resumedBatches);
          report.run(SCENARIO, backup.snapshot.stats.files === manifest.size ? 'ok' : 'lost');
        } catch (err) {
          report.run(SCENARIO, 'other');
          throw new Error(`round ${round}: backup did not complete: ${describeError(err)}`);
        }
        snapshots.push({ id: backup.snapshot.id, manifest });
        const baseBefore = await dataBytes(baselineDir);
        await baseline.backup({ paths: [source], host: 'baseline', parent: 'auto' });
        reuploaded += Math.max(0, ((await dataBytes(repo)) - repoBefore) - ((await dataBytes(baselineDir)) - baseBefore));

        // Restore.
        const target = join(h.tmp, `restored-${round}`);
        try {
          const restored = await withKills<RestoreOutput>('restore', budget(), () =>
            h.client.workflow.start('restoreWorkflow', { taskQueue: h.taskQueue, workflowId: uniqueId('chaos-restore'), args: [{ repo, snapshot: backup.snapshot.id, target, ...hostInput }] }));
          report.count(SCENARIO, 'restore-files-skipped-on-resume', restored.skipped);
          const diff = manifestDiff(manifest, await manifestOf(join(target, basename(source))));
          report.run(SCENARIO, diff.length === 0 && restored.verified.differences === 0 ? 'ok' : 'lost');
          assert.deepEqual(diff.slice(0, 10), [], `round ${round}: restored tree differs`);
        } catch (err) {
          if (err instanceof assert.AssertionError) throw err;
          report.run(SCENARIO, 'other');
          throw new Error(`round ${round}: restore did not complete: ${describeError(err)}`);
        }
        await removeDir(target);

        // Key rotation, small batches so kills land between and inside them.
        try {
          rotated = await withKills<RotateKeysResult>('rotation', budget(), () =>
            h.client.workflow.start('rotateKeysWorkflow', { taskQueue: h.taskQueue, workflowId: uniqueId('chaos-rotate'), args: [{ repo, packsPerBatch: 2 }] }));
          report.count(SCENARIO, 'rotation-batches', rotated.batches);
          report.run(SCENARIO, rotated.final.packsRemaining === 0 ? 'ok' : 'lost');
        } catch (err) {
          report.run(SCENARIO, 'other');
          throw new Error(`round ${round}: rotation did not complete: ${describeError(err)}`);
        }
      }
    } finally {
      await baseline.close();
      await removeDir(baselineDir);
    }

    // Independent check with the engine: every snapshot there, verify clean, each byte-identical under the newest keys.
    await worker?.kill('SIGKILL');
    worker = undefined;
    const engineRepo: Repository = await chaosEngine().open(new LocalBackend({ root: repo }), { passphrase: TEST_PASSWORD });
    try {
      assert.ok(rotated !== undefined && engineRepo.currentEpoch >= rotated.newEpoch);
      const snaps = await engineRepo.listSnapshots();
      assert.deepEqual(snaps.map((s) => s.id).sort(), snapshots.map((s) => s.id).sort(), 'exactly the snapshots made, all readable');
      const verified = await engineRepo.verify({ level: 'read-data' });
      assert.deepEqual(verified.findings, [], 'verify read-data is clean after the kills');
      for (const [i, snap] of snapshots.entries()) {
        const again = join(h.tmp, `after-rotation-${i}`);
        await mkdir(again);
        await engineRepo.restore({ snapshot: snap.id, target: again });
        const diff = manifestDiff(snap.manifest, await manifestOf(join(again, basename(source))));
        report.run(SCENARIO, diff.length === 0 ? 'ok' : 'lost');
        assert.deepEqual(diff.slice(0, 10), [], `snapshot ${i + 1} differs after the rotations`);
        await removeDir(again);
      }
    } finally {
      await engineRepo.close();
    }
    report.detail(SCENARIO, 'rounds', round);
    report.detail(SCENARIO, 'kills', kills);
    report.detail(SCENARIO, 'kills-mid-job', killsMidJob);
    report.detail(SCENARIO, 'bytes-reuploaded', reuploaded);
    assert.ok(killsMidJob > 0, 'at least one kill landed while a job was running');
    assert.ok(kills >= KILLS, `only ${kills} of ${KILLS} kills landed in ${round} rounds`);
  });
});
