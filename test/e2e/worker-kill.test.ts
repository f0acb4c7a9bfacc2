/**
 * Chaos on the worker: the real worker process (workers/main.ts) is killed
 * with SIGKILL in the middle of a backup batch; a new worker process takes
 * over. The backup completes, what was uploaded stays within the data plus
 * one batch, and the restore is byte-identical. The same for a restore and a
 * key rotation killed halfway. Finally SIGTERM shuts a worker down gracefully
 * (exit 0).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { BackupResult } from '../../workflows/backup';
import type { RestoreOutput } from '../../workflows/restore';
import type { JobProgress } from '../../workflows/messages';
import type { RotateKeysResult } from '../../workflows/rotate-keys';
import type { VerifyResult } from '../../workflows/verify';
import { startHarness, TEST_INIT_OPTIONS } from './harness';
import type { Harness } from './harness';
import { fetchAllRuns } from './histories';
import { spawnWorker, waitForPollers } from './worker-process';
import type { WorkerProcess } from './worker-process';
import { treeDifferences } from './trees';

const FILES = 48;
const FILE_SIZE = 2 * 1024 * 1024;
const FILES_PER_BATCH = 16;
/** Stored bytes above the plaintext that sealing may add (measured ~0.17 % for these incompressible files). */
const SEALING_ALLOWANCE = 0.01;

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await directoryBytes(path) : (await stat(path)).size;
  }
  return total;
}

void describe('SIGKILL the worker in the middle of a backup', () => {
  let h: Harness;
  const workers: WorkerProcess[] = [];

  before(async () => {
    h = await startHarness({ workers: false });
  });
  after(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await h.close();
  });

  /** Polls the workflow's progress query until `ready` holds. */
  async function waitFor(handle: WorkflowHandle, ready: (p: JobProgress) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const progress = await handle.query<JobProgress>('progress').catch(() => undefined);
      if (progress !== undefined && ready(progress)) return;
      assert.ok(Date.now() < deadline, `never reached: ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Activity attempts after the first in a workflow's history (the new worker's retries). */
  async function retriedActivities(handle: WorkflowHandleWithFirstExecutionRunId): Promise<string[]> {
    const runs = await fetchAllRuns(h.client, handle.workflowId, handle.firstExecutionRunId);
    const events = runs.flatMap((r) => r.history.events ?? []);
    const types = new Map<string, string>();
    for (const e of events) {
      if (e.activityTaskScheduledEventAttributes !== null && e.activityTaskScheduledEventAttributes !== undefined) {
        types.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '?');
      }
    }
    return events
      .filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1)
      .map((e) => types.get(String(e.activityTaskStartedEventAttributes?.scheduledEventId)) ?? '?');
  }

  let repo: string;
  let source: string;
  let current: WorkerProcess;

  const workerEnv = (): NodeJS.ProcessEnv => h.childEnv({ COFFER_ENGINE_BATCH_FILES: String(FILES_PER_BATCH) });
  async function startWorker(): Promise<WorkerProcess> {
    const worker = spawnWorker(workerEnv());
    workers.push(worker);
    await waitForPollers(h.client, [h.taskQueue, h.hostQueue], worker.child.pid as number);
    return worker;
  }

  void test('backup: a new worker completes it; uploads stay within data + one batch; restore is byte-identical', async () => {
    source = join(h.tmp, 'src');
    await mkdir(source, { recursive: true });
    for (let i = 0; i < FILES; i++) await writeFile(join(source, `blob-${String(i).padStart(2, '0')}.bin`), randomBytes(FILE_SIZE));
    const dataBytes = FILES * FILE_SIZE;
    const batchBytes = FILES_PER_BATCH * FILE_SIZE;
    repo = join(h.tmp, 'repo');

    const first = await startWorker();
    await h.run('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
    const { handle, result } = await h.start<BackupResult>('backupWorkflow', { repo, paths: [source], host: h.host, hostQueue: h.hostQueue, concurrency: 1 });

    // Kill once the first batch is done and the second (concurrency 1) has been running a moment.
    await waitFor(handle, (p) => (p.batchesDone ?? 0) >= 1, 'first batch done');
    await new Promise((r) => setTimeout(r, 400));
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, 'SIGKILL');
    const killedAt = Date.now();

    const second = await startWorker();
    const backup = await result;
    const recoveryMs = Date.now() - killedAt;
    assert.equal(backup.snapshot.stats.files, FILES);
    assert.equal(backup.plan.batches, FILES / FILES_PER_BATCH);
    // The killed batch really was retried by the new worker.
    assert.ok((await retriedActivities(handle)).includes('backupBatch'), 'a batch activity ran a second attempt');
    const stored = await directoryBytes(join(repo, 'data'));
    // Sealing adds ~0.2 % to random data (nonce, tag and header entry per chunk): when the killed batch had
    // finished uploading before the kill, its retry stores one whole sealed batch again. A second repeated
    // batch would be 25 % more, far above this allowance.
    const bound = Math.floor((dataBytes + batchBytes) * (1 + SEALING_ALLOWANCE));
    assert.ok(stored <= bound, `stored ${stored} bytes for ${dataBytes} bytes of data (+ one batch ${batchBytes}, + ${SEALING_ALLOWANCE * 100} % sealing)`);
    assert.ok(backup.snapshot.stats.bytesUploaded <= bound, `uploaded ${backup.snapshot.stats.bytesUploaded}`);

    const target = join(h.tmp, 'restored');
    const restored = await h.run<RestoreOutput>('restoreWorkflow', { repo, target, host: h.host, hostQueue: h.hostQueue });
    assert.equal(restored.verified.differences, 0);
    assert.deepEqual(await treeDifferences(source, join(target, 'src')), []);
    console.log(`# SIGKILL mid-batch: completed ${recoveryMs} ms after the kill; stored ${stored} B for ${dataBytes} B of data; uploaded ${backup.snapshot.stats.bytesUploaded} B`);

    current = second;
  });

  void test('restore: killed while restoring, a new worker resumes it; the result is verified and byte-identical', async () => {
    const target = join(h.tmp, 'restored-after-kill');
    const { handle, result } = await h.start<RestoreOutput>('restoreWorkflow', { repo, target, host: h.host, hostQueue: h.hostQueue });
    await waitFor(handle, (p) => p.phase === 'restore', 'restore phase');
    await new Promise((r) => setTimeout(r, 300));
    current.child.kill('SIGKILL');
    await current.exited;
    current = await startWorker();
    const restored = await result;
    assert.equal(restored.verified.differences, 0);
    assert.equal(restored.files, FILES);
    assert.deepEqual(await treeDifferences(source, join(target, 'src')), []);
    assert.deepEqual((await readdir(h.tmp)).filter((n) => n.includes('coffer-staging')), []);
    const retried = await retriedActivities(handle);
    assert.ok(retried.length >= 1, 'an activity of the restore ran a second attempt');
    console.log(`# SIGKILL mid-restore: retried ${retried.join(', ')}; ${restored.skipped} file(s) already restored were skipped`);
  });

  void test('key rotation: killed halfway, a new worker finishes it; nothing is lost', async () => {
    const { handle, result } = await h.start<RotateKeysResult>('rotateKeysWorkflow', { repo, packsPerBatch: 1 });
    await waitFor(handle, (p) => (p.batchesDone ?? 0) >= 3, 'three rotation batches');
    current.child.kill('SIGKILL');
    await current.exited;
    current = await startWorker();
    const rotated = await result;
    assert.equal(rotated.final.packsRemaining, 0);
    const verify = await h.run<VerifyResult>('verifyWorkflow', { repo, level: 'read-data' });
    assert.equal(verify.ok, true, JSON.stringify(verify.findingSample.slice(0, 3)));
    const target = join(h.tmp, 'restored-after-rotation');
    const restored = await h.run<RestoreOutput>('restoreWorkflow', { repo, target, host: h.host, hostQueue: h.hostQueue });
    assert.equal(restored.verified.differences, 0);
    assert.deepEqual(await treeDifferences(source, join(target, 'src')), []);
    console.log(`# SIGKILL mid-rotation: epoch ${rotated.newEpoch}, ${rotated.packsRotated} packs, ${rotated.batches} batches, retried ${(await retriedActivities(handle)).join(', ') || 'nothing'}`);

    // SIGTERM: graceful shutdown, exit status 0.
    current.child.kill('SIGTERM');
    assert.equal(await current.exited, 0, current.output().slice(-2000));
  });
});
