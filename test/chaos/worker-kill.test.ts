/**
 * Scenario 6a — the worker dies.
 *
 * A real worker child process (`node --import tsx workers/main.ts`, unique
 * task queues) runs a backup, a restore and a key rotation through the
 * stack's Temporal server. At seeded random moments it is SIGKILLed and a
 * new worker is started (COFFER_CHAOS_KILLS kills, default 5, heavy 20,
 * spread over the three jobs). Every job must complete on the new worker:
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
const KILLS = Number(process.env.COFFER_CHAOS_KILLS ?? (HEAVY ? 20 : 5));
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

  /** Kills planned for a job that finished before they landed move on to the next job. */
  let carried = 0;

  /** Runs a job, SIGKILLing the worker `killCount` times at random moments, restarting it each time. */
  async function withKills<R>(job: string, killCount: number, start: () => Promise<WorkflowHandle>): Promise<R> {
    const handle = await start();
    const result = handle.result() as Promise<R>;
    let done = false;
    void result.then(() => (done = true), () => (done = true));
    const planned = killCount + carried;
    let k = 0;
    for (; k < planned && !done; k++) {
      // Short first delays: quick jobs (a restore of a few MiB) must be hit too.
      await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 200 + rnd.int(k === 0 ? 2000 : 5000)))]);
      if (done) break;
      const running = (await handle.describe()).status.name === 'RUNNING';
      await worker?.kill('SIGKILL');
      kills++;
      if (running) killsMidJob++;
      report.count(SCENARIO, `kills-${job}`);
      await startWorker();
    }
    carried = planned - k;
    return result;
  }

  void it(`backup, restore and rotation complete despite ${KILLS} SIGKILLs; nothing lost`, { timeout: 30 * 60_000 }, async () => {
    await startWorker();
    await h.run('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
    const hostInput = { host: h.host, hostQueue: h.hostQueue };
    const share = [Math.ceil(KILLS * 0.4), Math.ceil(KILLS * 0.4), 0];
    share[2] = Math.max(0, KILLS - share[0] - share[1]);

    // Backup.
    let backup: BackupResult | undefined;
    try {
      backup = await withKills<BackupResult>('backup', share[0], () =>
        h.client.workflow.start('backupWorkflow', { taskQueue: h.taskQueue, workflowId: uniqueId('chaos-backup'), args: [{ repo, paths: [source], ...hostInput }] }));
      report.detail(SCENARIO, 'backup-batches', backup.plan.batches);
      report.detail(SCENARIO, 'backup-resumed-batches', backup.totals.resumedBatches);
      report.run(SCENARIO, backup.snapshot.stats.files === manifest.size ? 'ok' : 'lost');
    } catch (err) {
      report.run(SCENARIO, 'other');
      throw new Error(`backup did not complete: ${describeError(err)}`);
    }

    // Bytes beyond an uninterrupted backup of the same data with the same parameters.
    const baselineDir = join(h.tmp, 'baseline');
    const baseline = await chaosEngine().init(new LocalBackend({ root: baselineDir }), { passphrase: 'baseline' }, TEST_INIT_OPTIONS);
    await baseline.backup({ paths: [source], host: 'baseline' });
    await baseline.close();
    const extra = (await dataBytes(repo)) - (await dataBytes(baselineDir));
    report.detail(SCENARIO, 'bytes-reuploaded', Math.max(0, extra));
    await removeDir(baselineDir);

    // Restore.
    const target = join(h.tmp, 'restored');
    try {
      const restored = await withKills<RestoreOutput>('restore', share[1], () =>
        h.client.workflow.start('restoreWorkflow', { taskQueue: h.taskQueue, workflowId: uniqueId('chaos-restore'), args: [{ repo, snapshot: backup.snapshot.id, target, ...hostInput }] }));
      report.detail(SCENARIO, 'restore-files-skipped-on-resume', restored.skipped);
      const diff = manifestDiff(manifest, await manifestOf(join(target, basename(source))));
      report.run(SCENARIO, diff.length === 0 && restored.verified.differences === 0 ? 'ok' : 'lost');
      assert.deepEqual(diff.slice(0, 10), []);
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      report.run(SCENARIO, 'other');
      throw new Error(`restore did not complete: ${describeError(err)}`);
    }

    // Key rotation, small batches so kills land between and inside them.
    let rotated: RotateKeysResult;
    try {
      rotated = await withKills<RotateKeysResult>('rotation', share[2], () =>
        h.client.workflow.start('rotateKeysWorkflow', { taskQueue: h.taskQueue, workflowId: uniqueId('chaos-rotate'), args: [{ repo, packsPerBatch: 2 }] }));
      report.detail(SCENARIO, 'rotation-batches', rotated.batches);
    } catch (err) {
      report.run(SCENARIO, 'other');
      throw new Error(`rotation did not complete: ${describeError(err)}`);
    }

    // Independent check with the engine: one snapshot, verify clean, byte-identical under the new keys.
    await worker?.kill('SIGKILL');
    worker = undefined;
    const engineRepo: Repository = await chaosEngine().open(new LocalBackend({ root: repo }), { passphrase: TEST_PASSWORD });
    try {
      assert.equal(rotated.final.packsRemaining, 0);
      assert.ok(engineRepo.currentEpoch >= rotated.newEpoch);
      const snaps = await engineRepo.listSnapshots();
      assert.deepEqual(snaps.map((s) => s.id), [backup.snapshot.id], 'exactly the one snapshot, readable');
      const verified = await engineRepo.verify({ level: 'read-data' });
      assert.deepEqual(verified.findings, [], 'verify read-data is clean after the kills');
      const again = join(h.tmp, 'after-rotation');
      await mkdir(again);
      await engineRepo.restore({ snapshot: backup.snapshot.id, target: again });
      const diff = manifestDiff(manifest, await manifestOf(join(again, basename(source))));
      report.run(SCENARIO, diff.length === 0 ? 'ok' : 'lost');
      assert.deepEqual(diff.slice(0, 10), []);
    } finally {
      await engineRepo.close();
    }
    report.detail(SCENARIO, 'kills', kills);
    report.detail(SCENARIO, 'kills-not-landed', carried);
    report.detail(SCENARIO, 'kills-mid-job', killsMidJob);
    assert.ok(killsMidJob > 0, 'at least one kill landed while a job was running');
    assert.ok(kills >= KILLS - 1, `only ${kills} of ${KILLS} kills landed before the jobs finished`);
  });
});
