/**
 * Chaos on the worker: the real worker process (workers/main.ts) is killed
 * with SIGKILL in the middle of a backup batch; a new worker process takes
 * over. The backup completes, what was uploaded stays within the data plus
 * one batch, and the restore is byte-identical. Also: SIGTERM shuts a worker
 * down gracefully (exit 0).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BackupResult } from '../../workflows/backup';
import type { RestoreOutput } from '../../workflows/restore';
import { startHarness, TEST_INIT_OPTIONS } from './harness';
import type { Harness } from './harness';
import { fetchAllRuns } from './histories';
import { spawnWorker, waitForPollers } from './worker-process';
import type { WorkerProcess } from './worker-process';
import { treeDifferences } from './trees';

const FILES = 48;
const FILE_SIZE = 2 * 1024 * 1024;
const FILES_PER_BATCH = 16;

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

  const workerEnv = (): NodeJS.ProcessEnv => h.childEnv({ COFFER_ENGINE_BATCH_FILES: String(FILES_PER_BATCH) });
  async function startWorker(): Promise<WorkerProcess> {
    const worker = spawnWorker(workerEnv());
    workers.push(worker);
    await waitForPollers(h.client, [h.taskQueue, h.hostQueue], worker.child.pid as number);
    return worker;
  }

  void test('a new worker completes the backup; uploads stay within data + one batch; restore is byte-identical', async () => {
    const source = join(h.tmp, 'src');
    await mkdir(source, { recursive: true });
    for (let i = 0; i < FILES; i++) await writeFile(join(source, `blob-${String(i).padStart(2, '0')}.bin`), randomBytes(FILE_SIZE));
    const dataBytes = FILES * FILE_SIZE;
    const batchBytes = FILES_PER_BATCH * FILE_SIZE;
    const repo = join(h.tmp, 'repo');

    const first = await startWorker();
    await h.run('initRepositoryWorkflow', { repo, options: TEST_INIT_OPTIONS });
    const { handle, result } = await h.start<BackupResult>('backupWorkflow', { repo, paths: [source], host: h.host, hostQueue: h.hostQueue, concurrency: 1 });

    // Kill once the first batch is done and the second (concurrency 1) has been running a moment.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const progress = await handle.query<{ batchesDone?: number }>('progress').catch(() => ({ batchesDone: 0 }));
      if ((progress.batchesDone ?? 0) >= 1) break;
      assert.ok(Date.now() < deadline, 'the backup never finished its first batch');
      await new Promise((r) => setTimeout(r, 50));
    }
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
    const [run] = await fetchAllRuns(h.client, handle.workflowId, handle.firstExecutionRunId);
    const retried = (run?.history.events ?? []).filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
    assert.ok(retried.length >= 1, 'a batch activity ran a second attempt');
    const stored = await directoryBytes(join(repo, 'data'));
    assert.ok(stored <= dataBytes + batchBytes, `stored ${stored} bytes for ${dataBytes} bytes of data (+ one batch ${batchBytes})`);
    assert.ok(backup.snapshot.stats.bytesUploaded <= dataBytes + batchBytes, `uploaded ${backup.snapshot.stats.bytesUploaded}`);

    const target = join(h.tmp, 'restored');
    const restored = await h.run<RestoreOutput>('restoreWorkflow', { repo, target, host: h.host, hostQueue: h.hostQueue });
    assert.equal(restored.verified.differences, 0);
    assert.deepEqual(await treeDifferences(source, join(target, 'src')), []);
    console.log(`# SIGKILL mid-batch: completed ${recoveryMs} ms after the kill; stored ${stored} B for ${dataBytes} B of data; uploaded ${backup.snapshot.stats.bytesUploaded} B`);

    // SIGTERM: graceful shutdown, exit status 0.
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output().slice(-2000));
  });
});
